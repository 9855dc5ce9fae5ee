// Package plan turns (desired spec, observed state) into a Plan: a list of
// actions, each with its causes and dependencies, renderable as text and JSON.
//
// Build is pure: no context, clock, client, logger or prompt. It imports the
// spec (pkg/fleet), the snapshot (pkg/observe), the object vocabulary
// (pkg/resource) and, for monitoring.deploy (monitoring.go), the pure
// renderer pkg/monitoring, whose files it compares with monitoring.dir;
// never an adapter.
//
// BuildHosts plans a fleet with hosts: Place decides each client's host and
// where the sync nodes run (sync_hosts.go: one host holds the nodes and every
// synced client), then each host's share is planned with Build.
package plan
