package pg

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Table is a base table with its exact row count.
type Table struct {
	Name string `json:"name"`
	Rows int64  `json:"rows"`
}

// TableNames lists the base tables of a schema, sorted.
func TableNames(ctx context.Context, conn *pgx.Conn, schema string) ([]string, error) {
	rows, err := conn.Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY table_name`, schema)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	return names, nil
}

// Tables lists the base tables of a schema with exact row counts (count(*):
// statistics are stale right after a bulk load, which is when this is asked).
func Tables(ctx context.Context, conn *pgx.Conn, schema string) ([]Table, error) {
	names, err := TableNames(ctx, conn, schema)
	if err != nil {
		return nil, err
	}
	out := make([]Table, 0, len(names))
	for _, n := range names {
		var c int64
		q := "SELECT count(*) FROM " + pgx.Identifier{schema, n}.Sanitize()
		if err := conn.QueryRow(ctx, q).Scan(&c); err != nil {
			return nil, fmt.Errorf("count %s: %w", n, err)
		}
		out = append(out, Table{Name: n, Rows: c})
	}
	return out, nil
}

// NonEmpty returns the tables of schema that hold at least one row, except
// those in skip (e.g. alembic_version, which the app fills itself).
func NonEmpty(ctx context.Context, conn *pgx.Conn, schema string, skip ...string) ([]string, error) {
	names, err := TableNames(ctx, conn, schema)
	if err != nil {
		return nil, err
	}
	skipped := map[string]bool{}
	for _, s := range skip {
		skipped[s] = true
	}
	var out []string
	for _, n := range names {
		if skipped[n] {
			continue
		}
		var has bool
		q := "SELECT EXISTS (SELECT 1 FROM " + pgx.Identifier{schema, n}.Sanitize() + ")"
		if err := conn.QueryRow(ctx, q).Scan(&has); err != nil {
			return nil, fmt.Errorf("check %s: %w", n, err)
		}
		if has {
			out = append(out, n)
		}
	}
	return out, nil
}
