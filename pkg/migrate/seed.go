package migrate

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/quantabase/fleetctl/pkg/pg"
)

// Seeded lists the rows the application's schema step inserted into tables
// that were empty (or absent) before it: the config defaults, the admin
// user and auth rows of WEBUI_ADMIN_EMAIL. The migration records them (in
// its journal) before the copy, deletes exactly them inside the copy's
// transaction, and deletes them again when it rolls back or resumes after
// an interrupted run. It is JSON so the executor can journal it opaquely.
type Seeded struct {
	Tables []SeededTable `json:"tables"`
}

// SeededTable is one table's seeded rows, by primary key (Key: the key's
// columns, Rows: each row's key values as text). A table without a primary
// key lists whole rows (Key empty, Rows: the row's text form).
type SeededTable struct {
	Name string     `json:"name"`
	Key  []string   `json:"key,omitempty"`
	Rows [][]string `json:"rows"`
}

// Count is the number of seeded rows.
func (s *Seeded) Count() int {
	n := 0
	if s != nil {
		for _, t := range s.Tables {
			n += len(t.Rows)
		}
	}
	return n
}

// JSON renders s (nil stays nil).
func (s *Seeded) JSON() json.RawMessage {
	if s == nil {
		return nil
	}
	b, _ := json.Marshal(s)
	return b
}

// ParseSeeded reads what JSON wrote (empty input is nil, no error).
func ParseSeeded(raw []byte) (*Seeded, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var s Seeded
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("seeded rows: %w", err)
	}
	return &s, nil
}

// querier is what *pgx.Conn and pgx.Tx share.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// FindSeeded reads the rows of every base table of schema that is not in
// heldBefore (the tables that already held rows before the schema step) and
// not the application's bookkeeping (alembic_version, migratehistory).
// Nothing but the schema step wrote into the target since the preflight
// found those tables empty, so every such row is the step's.
func FindSeeded(ctx context.Context, rawURL, schema string, heldBefore []string) (*Seeded, error) {
	conn, err := pg.Connect(ctx, rawURL, pg.Options{AppName: "fleetctl-migrate"})
	if err != nil {
		return nil, pg.Masker(ctx, rawURL).Error(fmt.Errorf("seeded rows: %w", err))
	}
	defer conn.Close(context.Background())
	s, err := findSeeded(ctx, conn, schemaOr(schema), heldBefore)
	return s, pg.Masker(ctx, rawURL).Error(err)
}

func schemaOr(s string) string {
	if s == "" {
		return "public"
	}
	return s
}

func findSeeded(ctx context.Context, q querier, schema string, heldBefore []string) (*Seeded, error) {
	held := map[string]bool{}
	for _, n := range heldBefore {
		held[n] = true
	}
	for n := range appTables {
		held[n] = true
	}
	names, err := pg.TableNames(ctx, connOf(q), schema)
	if err != nil {
		return nil, fmt.Errorf("seeded rows: %w", err)
	}
	s := &Seeded{Tables: []SeededTable{}}
	for _, name := range names {
		if held[name] {
			continue
		}
		key, err := primaryKey(ctx, q, schema, name)
		if err != nil {
			return nil, err
		}
		t := SeededTable{Name: name, Key: key, Rows: [][]string{}}
		rows, err := q.Query(ctx, "SELECT "+rowKeySQL("t", key)+" FROM "+pgx.Identifier{schema, name}.Sanitize()+" t")
		if err != nil {
			return nil, fmt.Errorf("seeded rows of %s: %w", name, err)
		}
		for rows.Next() {
			vals := make([]string, max(len(key), 1))
			ptrs := make([]any, len(vals))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return nil, fmt.Errorf("seeded rows of %s: %w", name, err)
			}
			t.Rows = append(t.Rows, vals)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("seeded rows of %s: %w", name, err)
		}
		if len(t.Rows) > 0 {
			s.Tables = append(s.Tables, t)
		}
	}
	return s, nil
}

// connOf lets pg.TableNames (which takes a *pgx.Conn) run on a transaction.
func connOf(q querier) *pgx.Conn {
	switch c := q.(type) {
	case *pgx.Conn:
		return c
	case pgx.Tx:
		return c.Conn()
	}
	return nil
}

// rowKeySQL selects a row's key as text columns: the primary key's columns,
// or the whole row's text form when there is no primary key.
func rowKeySQL(alias string, key []string) string {
	if len(key) == 0 {
		return alias + "::text"
	}
	cols := make([]string, len(key))
	for i, k := range key {
		cols[i] = alias + "." + pgx.Identifier{k}.Sanitize() + "::text"
	}
	return strings.Join(cols, ", ")
}

func primaryKey(ctx context.Context, q querier, schema, table string) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT a.attname FROM pg_index i
		JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
		WHERE i.indisprimary AND n.nspname = $1 AND c.relname = $2 ORDER BY k.ord`, schema, table)
	if err != nil {
		return nil, fmt.Errorf("primary key of %s: %w", table, err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// deleteSeeded deletes exactly the seeded rows inside tx, children before
// parents (by the target's foreign keys), so a seeded user row goes after
// the seeded rows that reference it. Rows referencing a seeded row can only
// be seeded themselves (they did not exist before the step, and only the
// step wrote), so an ON DELETE CASCADE reaches no table that held rows.
// Afterwards each seeded table must be empty: a row that is not in the list
// stops the migration (something else wrote into the target).
func deleteSeeded(ctx context.Context, tx pgx.Tx, schema string, s *Seeded) (int64, error) {
	if s.Count() == 0 {
		return 0, nil
	}
	tgt, err := targetTables(ctx, tx.Conn(), schema)
	if err != nil {
		return 0, err
	}
	byName := map[string]SeededTable{}
	var names []string
	parents := map[string][]string{}
	for _, t := range s.Tables {
		byName[t.Name] = t
		names = append(names, t.Name)
		if tt := tgt[t.Name]; tt != nil {
			parents[t.Name] = tt.Parents
		}
	}
	order, cyclic := fkOrder(names, parents)
	_ = cyclic // a cycle among seeded tables: by name; a failing FK says so
	var n int64
	for i := len(order) - 1; i >= 0; i-- {
		t := byName[order[i]]
		if tgt[t.Name] == nil {
			continue // the table is gone: nothing to delete
		}
		id := pgx.Identifier{schema, t.Name}.Sanitize()
		sql, args := deleteRowsSQL(id, t)
		tag, err := tx.Exec(ctx, sql, args...)
		if err != nil {
			return n, fmt.Errorf("delete the rows the schema step seeded in %s: %w", t.Name, err)
		}
		n += tag.RowsAffected()
	}
	for _, name := range order {
		if tgt[name] == nil {
			continue
		}
		var left bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+pgx.Identifier{schema, name}.Sanitize()+")").Scan(&left); err != nil {
			return n, fmt.Errorf("check %s: %w", name, err)
		}
		if left {
			return n, fmt.Errorf("%w: table %s holds rows the application's schema step did not seed (something else writes into the target)", ErrTargetNotEmpty, name)
		}
	}
	return n, nil
}

// deleteRowsSQL deletes t's listed rows from the table id: by primary key
// (one text array per key column, matched through unnest), or by the whole
// row's text form.
func deleteRowsSQL(id string, t SeededTable) (string, []any) {
	if len(t.Key) == 0 {
		keys := make([]string, len(t.Rows))
		for j, r := range t.Rows {
			keys[j] = r[0]
		}
		return "DELETE FROM " + id + " t WHERE t::text = ANY($1)", []any{keys}
	}
	args := make([]any, len(t.Key))
	var cols, conds []string
	for i, k := range t.Key {
		vals := make([]string, len(t.Rows))
		for j, r := range t.Rows {
			vals[j] = r[i]
		}
		args[i] = vals
		cols = append(cols, fmt.Sprintf("$%d::text[]", i+1))
		conds = append(conds, fmt.Sprintf("t.%s::text = k.c%d", pgx.Identifier{k}.Sanitize(), i))
	}
	var names []string
	for i := range t.Key {
		names = append(names, fmt.Sprintf("c%d", i))
	}
	return "DELETE FROM " + id + " t USING unnest(" + strings.Join(cols, ", ") + ") AS k(" + strings.Join(names, ", ") + ") WHERE " +
		strings.Join(conds, " AND "), args
}
