// Package migrate copies an Open WebUI SQLite database into PostgreSQL
// without losing data, independently of Docker: the caller hands it a SQLite
// file (opened read-only, never modified) and a PostgreSQL URL.
//
// One run is: Preflight (server version, vector extension, target empty or
// holding only the app's schema) → Plan (tables in foreign-key order, parents
// first, with row counts) → Copy (COPY protocol, streaming rows from a SQLite
// cursor, coercing each value by the TARGET column's type and counting every
// alteration) → Verify (row counts and an order-independent checksum of the
// normalized values, source vs target) → sequences reset → commit. The whole
// copy and its verification run in ONE transaction: a failure anywhere
// (including the server going away) leaves the target as it was. Undo
// empties again, after a later failure, the tables that were empty before.
//
// Files: source.go (SQLite side), target.go (PostgreSQL side and table
// creation), encode.go (COPY text encoding and coercion), checksum.go,
// copy.go (one table), run.go (orchestration), report.go.
//
// Every error it returns has passed pg.Masker (the context's masker and the
// target's password): PostgreSQL quotes values in its messages.
//
// migrate imports pgx (through connections opened by pkg/pg) and the SQLite
// driver; it must not import the planner, the executor or pkg/docker. pkg/pg
// is the one adapter it may import.
package migrate
