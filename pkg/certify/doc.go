// Package certify is fleetctl certify: it drills a live sync deployment
// (fleet.yaml's sync: section) and reports each check with its measured
// figure — security (the nodes' role, the admin API's token, no secret in
// /health or /metrics), HA failover (kill the leader's container, time until
// the other node leads and has completed a pass), conflict resolution (each
// strategy on a scratch table, rolled back) and state authority (watermarks
// survive a node restart; the node's cache is bounded) — as text, JSON or
// JUnit XML.
//
// It is wiring: the database probes live in pkg/replicate (the only sync
// package that speaks pgx), the container kill and start come through the
// Containers interface (pkg/docker in the CLI). It never edits fleet.yaml
// and leaves the deployment as it found it: the killed node is started
// again, the scratch objects are rolled back. Secrets (the target's
// password, the admin token) never appear in a check's figure or detail.
package certify
