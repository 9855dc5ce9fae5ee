// Package rendered is the adapter for a directory of files fleetctl renders
// and other programs read (the monitoring deploy's monitoring.dir, which
// Prometheus and Grafana mount read-only): it observes what is there, writes
// changed files atomically (temp file and rename, so a reader never sees
// half a file), and keeps the marker that says a written configuration was
// not reloaded yet. It imports only the vocabulary (pkg/observe,
// pkg/resource), never the planner.
package rendered
