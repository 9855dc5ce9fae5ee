package replicate

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/quantabase/fleetctl/pkg/resource"
)

// DefaultMetaSchema is the metadata schema's name without a namespace.
const DefaultMetaSchema = resource.SyncMetaSchemaBase

// metaDDL creates the metadata schema's objects (idempotent). @ is the
// quoted schema name. Times are the database's (clock_timestamp()).
const metaDDL = `
CREATE TABLE IF NOT EXISTS @.lease (
  id int PRIMARY KEY CHECK (id = 1),
  holder text NOT NULL DEFAULT '',
  term bigint NOT NULL DEFAULT 0,
  expires_at timestamptz NOT NULL DEFAULT 'epoch',
  acquired_at timestamptz,
  renewed_at timestamptz);
INSERT INTO @.lease (id) VALUES (1) ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS @.terms (
  term bigint PRIMARY KEY,
  holder text NOT NULL,
  acquired_at timestamptz NOT NULL);
CREATE TABLE IF NOT EXISTS @.nodes (
  node_id text PRIMARY KEY,
  started_at timestamptz NOT NULL,
  heartbeat_at timestamptz NOT NULL,
  role text NOT NULL,
  term bigint NOT NULL,
  version text NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS @.jobs (
  id bigserial PRIMARY KEY,
  node_id text NOT NULL,
  term bigint NOT NULL,
  client text NOT NULL,
  kind text NOT NULL,
  status text NOT NULL,
  started_at timestamptz NOT NULL,
  finished_at timestamptz,
  rows_written bigint NOT NULL DEFAULT 0,
  rows_deleted bigint NOT NULL DEFAULT 0,
  conflicts bigint NOT NULL DEFAULT 0,
  error text);
CREATE INDEX IF NOT EXISTS jobs_client_started ON @.jobs (client, started_at DESC);
CREATE TABLE IF NOT EXISTS @.watermarks (
  client text NOT NULL,
  tbl text NOT NULL,
  watermark bigint NOT NULL,
  term bigint NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (client, tbl));
CREATE TABLE IF NOT EXISTS @.clients (
  client text PRIMARY KEY,
  last_sync_at timestamptz,
  last_full_at timestamptz,
  last_error text);
CREATE TABLE IF NOT EXISTS @.row_hashes (
  client text NOT NULL,
  tbl text NOT NULL,
  pk text NOT NULL,
  hash text NOT NULL,
  term bigint NOT NULL,
  written_at timestamptz NOT NULL,
  PRIMARY KEY (client, tbl, pk));
CREATE INDEX IF NOT EXISTS row_hashes_term ON @.row_hashes (term, written_at);
ALTER TABLE @.row_hashes ADD COLUMN IF NOT EXISTS kept_source text;
-- src: FNV-1a of the row's source COPY line as last written or accepted
-- (tables without updated_at; chunked comparison, chunk.go).
ALTER TABLE @.row_hashes ADD COLUMN IF NOT EXISTS src bigint;
CREATE TABLE IF NOT EXISTS @.conflicts (
  id bigserial PRIMARY KEY,
  client text NOT NULL,
  tbl text NOT NULL,
  pk text NOT NULL,
  strategy text NOT NULL,
  outcome text NOT NULL,
  source_row json,
  target_row json,
  node_id text NOT NULL,
  term bigint NOT NULL,
  detected_at timestamptz NOT NULL,
  resolved_at timestamptz,
  resolution text,
  resolved_by text);
CREATE UNIQUE INDEX IF NOT EXISTS conflicts_open ON @.conflicts (client, tbl, pk) WHERE resolved_at IS NULL;
CREATE OR REPLACE VIEW @.v_cluster_health AS
  SELECT n.node_id, n.role AS reported_role,
    (l.holder = n.node_id AND l.expires_at > now()) AS is_leader,
    l.term AS current_term, l.expires_at AS lease_expires_at,
    n.heartbeat_at, extract(epoch FROM now() - n.heartbeat_at)::float8 AS heartbeat_age_seconds,
    n.started_at, n.version
  FROM @.nodes n CROSS JOIN @.lease l;
CREATE OR REPLACE VIEW @.v_active_sync_jobs AS
  SELECT id, node_id, term, client, kind, started_at,
    extract(epoch FROM now() - started_at)::float8 AS running_seconds
  FROM @.jobs WHERE status = 'running';
CREATE OR REPLACE VIEW @.v_recent_conflicts AS
  SELECT id, client, tbl, pk, strategy, outcome, detected_at, resolved_at, resolution,
    resolved_at IS NULL AS open
  FROM @.conflicts WHERE detected_at > now() - interval '7 days' OR resolved_at IS NULL
  ORDER BY detected_at DESC;
`

// EnsureMeta creates the metadata schema (idempotent). Two nodes starting
// at once serialize on a transaction-level advisory lock (which, unlike a
// session lock, works through a transaction pooler).
func EnsureMeta(ctx context.Context, db *pgxpool.Pool, schema string) error {
	q := strings.ReplaceAll(metaDDL, "@", pgx.Identifier{schema}.Sanitize())
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('fleetctl-sync-ddl:' || $1))", schema); err != nil {
			return err
		}
		if err := ensureSchema(ctx, tx, schema); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, q, pgx.QueryExecModeSimpleProtocol)
		return err
	})
	if err != nil {
		return fmt.Errorf("metadata schema %s: %w", schema, err)
	}
	return nil
}

// ClientSchema is the target schema of a client without a namespace:
// client_<name> with the name's hyphens as underscores (client names are
// [a-z0-9-]: no collision).
func ClientSchema(client string) string {
	return resource.SyncClientSchema("", client)
}

// NamespacedMetaSchema is the metadata schema of namespace ns
// (NS_sync_metadata; DefaultMetaSchema when ns is "").
func NamespacedMetaSchema(ns string) string {
	return resource.SyncMetaSchema(ns)
}

// NamespacedClientSchema is a client's schema in namespace ns
// (NS_client_<name>; ClientSchema when ns is ""): several fleets share one
// target, each in its own namespace (pkg/resource/syncschema.go).
func NamespacedClientSchema(ns, client string) string {
	return resource.SyncClientSchema(ns, client)
}

// ensureSchema creates schema unless it exists. CREATE SCHEMA IF NOT
// EXISTS would need the CREATE privilege on the database even when the
// schema is there, and the nodes' restricted role has none: it only owns
// the schemas provisioning created for it.
func ensureSchema(ctx context.Context, tx pgx.Tx, schema string) error {
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, schema).Scan(&exists); err != nil {
		return fmt.Errorf("schema %s: %w", schema, err)
	}
	if exists {
		return nil
	}
	if _, err := tx.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		return fmt.Errorf("create schema %s: %w", schema, err)
	}
	return nil
}
