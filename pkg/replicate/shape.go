package replicate

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/quantabase/fleetctl/pkg/migrate"
)

// shape is one replicated table: the columns both sides have (in SQLite's
// order), their PostgreSQL types, the primary key.
type shape struct {
	Table      string
	Cols       []string
	UDTs       []string
	PK         []string
	UpdatedAt  int // index of updated_at in Cols, -1 when the table has none
	Skip       string
	quotedName string // schema-qualified
}

func (s *shape) hasUpdatedAt() bool { return s.UpdatedAt >= 0 }

// ensureShapes creates the client's schema and every table of its SQLite
// database missing there (the migration's own CREATE TABLE), adds columns
// the application added since, and describes the result. Tables without a
// primary key cannot be mirrored row by row: they are listed with Skip set.
//
// Adding a column changes every existing row's text (t::text), so the row
// hashes (md5(t::text), the sync's own version of each row) are moved to
// the new shape in the same transaction: a row whose hash is the md5 of its
// text over the columns it had before (a row value of the old column list
// prints as t::text did) gets the hash of its new text; a row changed
// outside the sync keeps its mismatch. A kept target version whose source
// was decided against (kept_source, the source's row_to_json, which the
// new column changes too) keeps its old hash: the strategy decides it again
// rather than the source overwriting it. meta and client name the row
// hashes of this schema.
func ensureShapes(ctx context.Context, tx pgx.Tx, src *sql.DB, schema, meta, client string) ([]*shape, error) {
	tables, err := migrate.DescribeSQLite(ctx, src)
	if err != nil {
		return nil, fmt.Errorf("describe SQLite: %w", err)
	}
	if err := ensureSchema(ctx, tx, schema); err != nil {
		return nil, err
	}
	have, err := targetColumns(ctx, tx, schema)
	if err != nil {
		return nil, err
	}
	var out []*shape
	before := map[string][]string{} // tables with added columns: their columns before, in order
	for _, t := range tables {
		cols, exists := have[t.Name]
		if !exists {
			if _, err := tx.Exec(ctx, migrate.CreateTableSQL(schema, t)); err != nil {
				return nil, fmt.Errorf("create %s.%s: %w", schema, t.Name, err)
			}
		}
		for _, c := range t.Columns {
			if _, ok := cols[c.Name]; exists && !ok {
				if before[t.Name] == nil {
					if before[t.Name], err = orderedColumns(ctx, tx, schema, t.Name); err != nil {
						return nil, err
					}
				}
				q := "ALTER TABLE " + pgx.Identifier{schema, t.Name}.Sanitize() + " ADD COLUMN " +
					pgx.Identifier{c.Name}.Sanitize() + " " + migrate.PGTypeFor(c.Type)
				if _, err := tx.Exec(ctx, q); err != nil {
					return nil, fmt.Errorf("add column %s.%s: %w", t.Name, c.Name, err)
				}
			}
		}
	}
	if have, err = targetColumns(ctx, tx, schema); err != nil {
		return nil, err
	}
	for _, t := range tables {
		sh := &shape{Table: t.Name, UpdatedAt: -1, quotedName: pgx.Identifier{schema, t.Name}.Sanitize()}
		pk := map[int]string{}
		for _, c := range t.Columns {
			udt, ok := have[t.Name][c.Name]
			if !ok {
				continue
			}
			if c.Name == "updated_at" {
				sh.UpdatedAt = len(sh.Cols)
			}
			sh.Cols = append(sh.Cols, c.Name)
			sh.UDTs = append(sh.UDTs, udt)
			if c.PK > 0 {
				pk[c.PK] = c.Name
			}
		}
		for i := 1; i <= len(pk); i++ {
			sh.PK = append(sh.PK, pk[i])
		}
		if len(sh.PK) == 0 || len(sh.PK) != len(pk) {
			sh.Skip = "no primary key"
		}
		out = append(out, sh)
		if old := before[t.Name]; old != nil && sh.Skip == "" {
			if err := rehash(ctx, tx, sh, old, meta, client); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// orderedColumns are a target table's columns in their order.
func orderedColumns(ctx context.Context, tx pgx.Tx, schema, table string) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT column_name FROM information_schema.columns
		WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`, schema, table)
	if err != nil {
		return nil, fmt.Errorf("columns of %s: %w", table, err)
	}
	cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("columns of %s: %w", table, err)
	}
	return cols, nil
}

// rehash moves the row hashes of sh's rows the sync wrote as they are from
// the table's shape of before its new columns (old) to the current one
// (see ensureShapes).
func rehash(ctx context.Context, tx pgx.Tx, sh *shape, old []string, meta, client string) error {
	if len(old) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `UPDATE `+meta+`.row_hashes h SET hash = md5(t::text)
		FROM `+sh.quotedName+` t
		WHERE h.client = $1 AND h.tbl = $2 AND h.pk = `+sh.pkExpr("t")+`
		  AND h.hash = md5(ROW(`+qcols(old, "t")+`)::text)
		  AND (h.kept_source IS NULL OR h.kept_source = 'deleted')`, client, sh.Table)
	if err != nil {
		return fmt.Errorf("row hashes of %s after its new columns: %w", sh.Table, err)
	}
	return nil
}

func targetColumns(ctx context.Context, tx pgx.Tx, schema string) (map[string]map[string]string, error) {
	rows, err := tx.Query(ctx, `SELECT table_name, column_name, udt_name FROM information_schema.columns
		WHERE table_schema = $1 ORDER BY table_name, ordinal_position`, schema)
	if err != nil {
		return nil, fmt.Errorf("target columns: %w", err)
	}
	defer rows.Close()
	out := map[string]map[string]string{}
	for rows.Next() {
		var t, c, u string
		if err := rows.Scan(&t, &c, &u); err != nil {
			return nil, err
		}
		if out[t] == nil {
			out[t] = map[string]string{}
		}
		out[t][c] = u
	}
	return out, rows.Err()
}

// SQL fragments over a shape. Aliases are the caller's.

func qcols(cols []string, alias string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = pgx.Identifier{c}.Sanitize()
		if alias != "" {
			q[i] = alias + "." + q[i]
		}
	}
	return strings.Join(q, ", ")
}

// pkExpr is the primary key as text, the key of row_hashes and conflicts.
func (s *shape) pkExpr(alias string) string {
	return "json_build_array(" + qcols(s.PK, alias) + ")::text"
}

func (s *shape) pkMatch(a, b string) string {
	var w []string
	for _, c := range s.PK {
		q := pgx.Identifier{c}.Sanitize()
		w = append(w, a+"."+q+" = "+b+"."+q)
	}
	return strings.Join(w, " AND ")
}

// textRow compares rows as text: json has no equality operator.
func (s *shape) textRow(alias string) string {
	q := make([]string, len(s.Cols))
	for i, c := range s.Cols {
		q[i] = alias + "." + pgx.Identifier{c}.Sanitize() + "::text"
	}
	return "ROW(" + strings.Join(q, ", ") + ")"
}

// updatedAtInt is updated_at as a bigint the conflict rules compare: an
// integer as is, a time as microseconds since the epoch (v0.11.0's
// config_old has a timestamp updated_at), anything else NULL.
func (s *shape) updatedAtInt(alias string) string {
	c := alias + `."updated_at"`
	switch s.UDTs[s.UpdatedAt] {
	case "int2", "int4", "int8":
		return c + "::bigint"
	case "timestamp", "timestamptz", "date":
		return "(extract(epoch FROM " + c + ") * 1000000)::bigint"
	}
	return "NULL::bigint"
}

func (s *shape) nonPK() []string {
	var out []string
	for _, c := range s.Cols {
		if !slices.Contains(s.PK, c) {
			out = append(out, c)
		}
	}
	return out
}
