package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ErrOrphans: rows of the SQLite database reference a parent row that does
// not exist (SQLite never enforces Open WebUI's foreign keys), and the
// target's foreign keys would refuse them. Refused unless Orphans is
// OrphansQuarantine.
var ErrOrphans = errors.New("orphan rows")

// Orphan policies (Options.Orphans).
const (
	OrphansRefuse     = "refuse"     // default: preflight error listing them
	OrphansQuarantine = "quarantine" // copy them into a side SQLite file instead, counted
)

// fkDef is one foreign key: child(cols) → parent(pcols).
type fkDef struct {
	Child, Parent string
	Cols, PCols   []string
	OnDelete      string // SQLite's action ("NO ACTION", "CASCADE", ...): carried when fleetctl creates the table
}

func (f fkDef) String() string {
	return fmt.Sprintf("%s(%s) → %s(%s)", f.Child, strings.Join(f.Cols, ", "), f.Parent, strings.Join(f.PCols, ", "))
}

// OrphanSet is one foreign key's orphans: how many rows, a few examples
// (the child's primary key, or its rowid when it has none).
type OrphanSet struct {
	ForeignKey string   `json:"foreignKey"`
	Table      string   `json:"table"`
	Rows       int64    `json:"rows"`
	Examples   []string `json:"examples"`
	// Cascade: the rows reference a parent row that is itself an orphan
	// (quarantined with it), not a missing one.
	Cascade bool `json:"cascade,omitempty"`
}

// orphanRows is the quarantine set: rowids per table.
type orphanRows map[string]map[int64]bool

func (o orphanRows) count(table string) int64 { return int64(len(o[table])) }

// sourceFKs reads SQLite's declared foreign keys of the given tables.
func (s *source) foreignKeys(ctx context.Context, tables []*srcTable) ([]fkDef, error) {
	var out []fkDef
	for _, t := range tables {
		rows, err := s.db.QueryContext(ctx, `SELECT id, seq, "table", "from", coalesce("to", ''), on_delete FROM pragma_foreign_key_list(?) ORDER BY id, seq`, t.Name)
		if err != nil {
			return nil, fmt.Errorf("foreign keys of %s: %w", t.Name, err)
		}
		byID := map[int]*fkDef{}
		var ids []int
		for rows.Next() {
			var id, seq int
			var parent, from, to, onDelete string
			if err := rows.Scan(&id, &seq, &parent, &from, &to, &onDelete); err != nil {
				rows.Close()
				return nil, err
			}
			f := byID[id]
			if f == nil {
				f = &fkDef{Child: t.Name, Parent: parent, OnDelete: onDelete}
				byID[id] = f
				ids = append(ids, id)
			}
			f.Cols = append(f.Cols, from)
			f.PCols = append(f.PCols, to)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		for _, id := range ids {
			out = append(out, *byID[id])
		}
	}
	return out, nil
}

// targetFKs reads the target's foreign keys with their columns.
func targetFKs(ctx context.Context, q querier, schema string) ([]fkDef, error) {
	rows, err := q.Query(ctx, `SELECT cl.relname, pcl.relname,
			array(SELECT a.attname FROM unnest(co.conkey) WITH ORDINALITY k(n, o) JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = k.n ORDER BY k.o),
			array(SELECT a.attname FROM unnest(co.confkey) WITH ORDINALITY k(n, o) JOIN pg_attribute a ON a.attrelid = co.confrelid AND a.attnum = k.n ORDER BY k.o)
		FROM pg_constraint co
		JOIN pg_class cl ON cl.oid = co.conrelid JOIN pg_namespace n ON n.oid = cl.relnamespace
		JOIN pg_class pcl ON pcl.oid = co.confrelid
		WHERE co.contype = 'f' AND n.nspname = $1 ORDER BY 1, co.conname`, schema)
	if err != nil {
		return nil, fmt.Errorf("target foreign keys: %w", err)
	}
	var out []fkDef
	for rows.Next() {
		var f fkDef
		if err := rows.Scan(&f.Child, &f.Parent, &f.Cols, &f.PCols); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, f)
	}
	rows.Close()
	return out, rows.Err()
}

// mergeFKs unites the SQLite and target foreign keys (one per
// child/columns/parent), resolving SQLite's implicit parent columns (a
// REFERENCES without columns means the parent's primary key).
func mergeFKs(src []*srcTable, lists ...[]fkDef) []fkDef {
	pk := map[string][]string{}
	for _, t := range src {
		cols := map[int]string{}
		for _, c := range t.Columns {
			if c.PK > 0 {
				cols[c.PK] = c.Name
			}
		}
		for i := 1; i <= len(cols); i++ {
			pk[t.Name] = append(pk[t.Name], cols[i])
		}
	}
	seen := map[string]bool{}
	var out []fkDef
	for _, l := range lists {
		for _, f := range l {
			if len(f.PCols) > 0 && f.PCols[0] == "" {
				f.PCols = pk[f.Parent]
			}
			if len(f.PCols) != len(f.Cols) {
				continue // unresolvable: SQLite would not enforce it either
			}
			k := f.String()
			if !seen[k] {
				seen[k] = true
				out = append(out, f)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// findOrphans finds, for every foreign key whose two tables are in the
// source, the child rows with a non-NULL key and no parent row; then, to a
// fixed point, the rows whose parent row is itself an orphan (quarantining
// a chat_message's missing chat's ... ). It returns the sets for the report
// and the rowids to quarantine.
func findOrphans(ctx context.Context, s *source, tables []*srcTable, fks []fkDef) ([]OrphanSet, orphanRows, error) {
	in := map[string]*srcTable{}
	for _, t := range tables {
		in[t.Name] = t
	}
	q := orphanRows{}
	var sets []OrphanSet
	for _, f := range fks {
		if in[f.Child] == nil || in[f.Parent] == nil {
			continue
		}
		var conds, match []string
		for i, c := range f.Cols {
			conds = append(conds, "c."+sqliteIdent(c)+" IS NOT NULL")
			match = append(match, "p."+sqliteIdent(f.PCols[i])+" = c."+sqliteIdent(c))
		}
		where := strings.Join(conds, " AND ") + " AND NOT EXISTS (SELECT 1 FROM " + sqliteIdent(f.Parent) + " p WHERE " + strings.Join(match, " AND ") + ")"
		ids, err := s.rowids(ctx, f.Child, where, nil)
		if err != nil {
			return nil, nil, fmt.Errorf("orphans of %s: %w", f, err)
		}
		if len(ids) > 0 {
			sets = append(sets, q.add(ctx, s, f, ids, in[f.Child], false))
		}
	}
	// Cascade: children of quarantined rows (single-column keys).
	for changed := true; changed; {
		changed = false
		for _, f := range fks {
			if in[f.Child] == nil || len(q[f.Parent]) == 0 || len(f.Cols) != 1 {
				continue
			}
			vals, err := s.values(ctx, f.Parent, f.PCols[0], q[f.Parent])
			if err != nil {
				return nil, nil, err
			}
			if len(vals) == 0 {
				continue
			}
			ph := strings.TrimSuffix(strings.Repeat("?,", len(vals)), ",")
			ids, err := s.rowids(ctx, f.Child, "c."+sqliteIdent(f.Cols[0])+" IN ("+ph+")", vals)
			if err != nil {
				return nil, nil, fmt.Errorf("orphans of %s: %w", f, err)
			}
			var fresh []int64
			for _, id := range ids {
				if !q[f.Child][id] {
					fresh = append(fresh, id)
				}
			}
			if len(fresh) > 0 {
				sets = append(sets, q.add(ctx, s, f, fresh, in[f.Child], true))
				changed = true
			}
		}
	}
	return sets, q, nil
}

func (q orphanRows) add(ctx context.Context, s *source, f fkDef, ids []int64, t *srcTable, cascade bool) OrphanSet {
	if q[f.Child] == nil {
		q[f.Child] = map[int64]bool{}
	}
	for _, id := range ids {
		q[f.Child][id] = true
	}
	set := OrphanSet{ForeignKey: f.String(), Table: f.Child, Rows: int64(len(ids)), Examples: []string{}, Cascade: cascade}
	key := "rowid"
	for _, c := range t.Columns {
		if c.PK == 1 {
			key = sqliteIdent(c.Name)
		}
	}
	for _, id := range ids[:min(3, len(ids))] {
		var v sql.NullString
		if err := s.db.QueryRowContext(ctx, "SELECT CAST("+key+" AS TEXT) FROM "+sqliteIdent(t.Name)+" WHERE rowid = ?", id).Scan(&v); err == nil {
			set.Examples = append(set.Examples, v.String)
		}
	}
	return set
}

func (s *source) rowids(ctx context.Context, table, where string, args []any) ([]int64, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT c.rowid FROM "+sqliteIdent(table)+" c WHERE "+where+" ORDER BY c.rowid", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

func (s *source) values(ctx context.Context, table, col string, ids map[int64]bool) ([]any, error) {
	var out []any
	for id := range ids {
		var v any
		if err := s.db.QueryRowContext(ctx, "SELECT "+sqliteIdent(col)+" FROM "+sqliteIdent(table)+" WHERE rowid = ?", id).Scan(&v); err != nil {
			return nil, fmt.Errorf("orphans: %w", err)
		}
		if v != nil {
			out = append(out, v)
		}
	}
	return out, nil
}

// orphanError lists the sets (a few example keys each) and the way out.
func orphanError(sets []OrphanSet) error {
	var parts []string
	var n int64
	for _, s := range sets {
		n += s.Rows
		what := "missing parent"
		if s.Cascade {
			what = "parent is itself an orphan"
		}
		parts = append(parts, fmt.Sprintf("%s: %d row(s), %s (e.g. %s)", s.ForeignKey, s.Rows, what, strings.Join(s.Examples, ", ")))
	}
	return fmt.Errorf("%w: %d row(s) of the SQLite database reference rows that do not exist, which PostgreSQL's foreign keys refuse: %s; "+
		"delete them in the application, or migrate with --orphans=quarantine to copy them into a side file in the backup directory instead (counted in the report)",
		ErrOrphans, n, strings.Join(parts, "; "))
}

// writeQuarantine copies the quarantined rows, lossless, into a new SQLite
// file at path: the same CREATE TABLE statements, the rows as they are.
func writeQuarantine(ctx context.Context, s *source, path string, q orphanRows) (int64, error) {
	if len(q) == 0 {
		return 0, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return 0, err
	}
	abs, _ := filepath.Abs(path)
	f, err := os.OpenFile(abs, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, fmt.Errorf("quarantine: %w", err)
	}
	f.Close()
	db, err := sql.Open("sqlite", (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String())
	if err != nil {
		return 0, fmt.Errorf("quarantine: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	tables := make([]string, 0, len(q))
	for t := range q {
		tables = append(tables, t)
	}
	sort.Strings(tables)
	var n int64
	for _, t := range tables {
		var ddl string
		if err := s.db.QueryRowContext(ctx, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", t).Scan(&ddl); err != nil {
			return n, fmt.Errorf("quarantine %s: %w", t, err)
		}
		if _, err := db.ExecContext(ctx, ddl); err != nil {
			return n, fmt.Errorf("quarantine %s: %w", t, err)
		}
		for id := range q[t] {
			rows, err := s.db.QueryContext(ctx, "SELECT * FROM "+sqliteIdent(t)+" WHERE rowid = ?", id)
			if err != nil {
				return n, fmt.Errorf("quarantine %s: %w", t, err)
			}
			cols, _ := rows.Columns()
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			ok := rows.Next()
			if ok {
				err = rows.Scan(ptrs...)
			}
			rows.Close()
			if err != nil {
				return n, fmt.Errorf("quarantine %s: %w", t, err)
			}
			if !ok {
				continue
			}
			quoted := make([]string, len(cols))
			for i, c := range cols {
				quoted[i] = sqliteIdent(c)
			}
			ins := "INSERT INTO " + sqliteIdent(t) + " (" + strings.Join(quoted, ", ") + ") VALUES (" + strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",") + ")"
			if _, err := db.ExecContext(ctx, ins, vals...); err != nil {
				return n, fmt.Errorf("quarantine %s: %w", t, err)
			}
			n++
		}
	}
	return n, db.Close()
}
