// Package replicate is the HA sync node: it mirrors each client's SQLite
// database into its own schema (client_<name>) of one PostgreSQL target,
// continuously, with one leader among the nodes at a time. Several fleets
// share one target through namespaces (NS_sync_metadata, NS_client_<name>;
// the naming rule is pkg/resource's); provisioning (provision.go) never
// hands a schema another role owns to this fleet's role, and marks the role
// and schemas with the fleet's marker (a comment) so that it never changes
// another fleet's role of the same name nor takes schemas a node of another
// fleet made as the owner.
//
// It owns: the lease election through PostgreSQL alone (election.go is the
// pure state machine, lease.go the SQL; a fencing token, the term, is checked
// inside every replication write transaction, job history included, so an
// old leader that lost its lease writes nothing), the metadata schema
// (schema.go: lease, nodes, jobs, watermarks, row hashes, conflicts and
// their views), the incremental copy of a table (table.go), its first copy
// straight into an empty table (initial.go), the full pass's comparison by
// chunks of the key space (chunk.go: hash buckets, only differing chunks
// staged), the five conflict strategies (conflict.go, pure rules), the
// node's loops (node.go) and its HTTP API (http.go, with the
// old system's metric names in metrics.go).
//
// Everything works through a transaction pooler (Supabase's port 6543,
// pgbouncer pool_mode=transaction): no session advisory locks, no LISTEN,
// no prepared statements (pgx's simple protocol), temp tables only ON COMMIT
// DROP. PostgreSQL is the authority for watermarks, job history and row
// hashes; a node keeps only a table-shape cache (at most Config.CacheTTL,
// its entries' ages in /health) and restarts without a full resync.
//
// A node may replicate a certification canary (canary.go): a SQLite database
// of the deployment's own, written through POST /api/v1/canary, on which
// fleetctl certify drills the strategies and the cache through the real
// passes; it is kept apart from the clients in health, metrics and status.
//
// replicate shares the SQLite reading, type mapping and coercion with
// pkg/migrate (one implementation) and opens connections through pkg/pg: the
// two documented exceptions to "adapters never import each other". It
// imports pgx for transactions and COPY. It must not import the planner,
// the executor, pkg/docker or pkg/fleet: the CLI hands it a Config. Secrets
// (the target URL's password, the admin token) never reach health, metrics,
// logs or errors: errors pass pg.Masker.
package replicate
