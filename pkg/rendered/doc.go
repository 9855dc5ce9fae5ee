// Package rendered is the adapter for a directory of files fleetctl renders
// and other programs read (the monitoring deploy's monitoring.dir, which
// Prometheus and Grafana mount read-only): it observes what is there (and
// the device:inode of each directory, which a bind mount keeps), writes
// changed files atomically (temp file and rename, so a reader never sees
// half a file) into real directories only (a symbolic link among them is
// refused), and keeps the markers that say a written configuration was not
// reloaded (Prometheus) or restarted on (Grafana) yet. It imports only the
// vocabulary (pkg/observe, pkg/resource), never the planner.
package rendered
