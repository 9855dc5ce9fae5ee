// Package certify is fleetctl certify: it drills a live sync deployment
// (fleet.yaml's sync: section) and reports each check with its measured
// figure — security (the nodes' role, the admin API's token, no secret in
// /health or /metrics), conflict resolution (each strategy end to end on the
// certification canary, through the deployed nodes), HA failover (kill the
// leader's container, time until the other node leads and has completed a
// pass) and state authority (watermarks survive a node restart; a shape
// cached by the leader expires within its TTL, observed on the canary) — as
// text, JSON or JUnit XML.
//
// The drills go through the running nodes (canary.go): certify writes the
// canary's source through the leader's admin API (POST /api/v1/canary),
// changes the canary's target rows as the target's owner, triggers passes
// (POST /api/v1/sync) and reads the outcome; the leader does the
// replicating. No client's data is read or written.
//
// It is wiring: the database probes live in pkg/replicate (the only sync
// package that speaks pgx), the container kill and start come through the
// Containers interface (pkg/docker in the CLI). It never edits fleet.yaml
// and leaves the deployment as it found it: the killed node is started
// again, the scratch schema of the role probe is rolled back, the canary is
// reset by the next run. Secrets (the target's password, the admin token)
// never appear in a check's figure or detail.
package certify
