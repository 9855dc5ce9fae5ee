// Package dockertest starts extra Docker engines on this machine for tests
// of fleets with several hosts: each dockerd has its own config file (the
// system's /etc/docker/daemon.json sets data-root, which clashes with the
// flag), socket, data root, exec root (and so its own containerd), pid file
// and bridge with its own subnet, all under one temp dir, with iptables off:
// ports published on 127.0.0.1 answer through the userland proxy.
//
// Every daemon, bridge and directory is removed in t.Cleanup, also when the
// test fails; daemons are stopped by the pid in their pid file.
//
// It is test support: it imports no fleetctl package and runs commands
// (dockerd, ip) only.
package dockertest
