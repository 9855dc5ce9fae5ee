// Package pg is fleetctl's PostgreSQL adapter: connecting (with the simple
// query protocol behind a transaction pooler such as Supabase's port 6543,
// where prepared statements do not survive between transactions), describing
// a server for `fleetctl db show`, and listing tables with their row counts.
//
// pg and pkg/migrate (which streams COPY through the connections pg opens)
// are the only packages that import pgx. pg must not import the planner, the
// executor or another adapter. Connection strings are never echoed: errors
// and Info carry the URL with its password masked (redact.URL), and every
// server message is masked with the context's masker plus the URL's own
// password (Masker) before it leaves.
package pg
