package migrate

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"sort"
	"strings"

	_ "modernc.org/sqlite" // pure-Go SQLite driver "sqlite"
)

// source is the SQLite database being migrated, opened read-only.
type source struct {
	db   *sql.DB
	path string
}

// srcTable is a SQLite table: its columns in order and its FK parents.
type srcTable struct {
	Name    string
	Columns []srcColumn
	Parents []string
	Rows    int64
	// Generated are its generated columns (not copied: see unsupported).
	Generated []string
	// SQL is its CREATE TABLE statement (AUTOINCREMENT is read from it).
	SQL string
}

type srcColumn struct {
	Name    string
	Type    string // declared type, upper case ("" when none)
	NotNull bool
	PK      int // position in the primary key, 0 when not part of it
	Default *string
}

// openSource opens path read-only: mode=ro makes SQLite refuse every write,
// query_only makes the connection refuse them too. The file is never modified.
// pragmas are added to every connection (e.g. "busy_timeout(5000)").
func openSource(ctx context.Context, path string, pragmas ...string) (*source, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	q.Set("mode", "ro")
	q.Add("_pragma", "query_only(1)")
	q.Add("_pragma", "temp_store(memory)")
	q.Add("_pragma", "cache_size(-16000)") // 16 MB page cache, whatever the file size
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: q.Encode()}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.SetMaxOpenConns(2)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return &source{db: db, path: abs}, nil
}

func (s *source) Close() error { return s.db.Close() }

// tables lists the user tables with columns, FK parents and row counts.
func (s *source) tables(ctx context.Context) ([]*srcTable, error) {
	names, err := s.tableNames(ctx)
	if err != nil {
		return nil, err
	}
	var out []*srcTable
	for _, n := range names {
		t := &srcTable{Name: n}
		if err := s.describe(ctx, t); err != nil {
			return nil, fmt.Errorf("table %s: %w", n, err)
		}
		if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM "+sqliteIdent(n)).Scan(&t.Rows); err != nil {
			return nil, fmt.Errorf("count %s: %w", n, err)
		}
		out = append(out, t)
	}
	return out, nil
}

func (s *source) tableNames(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name FROM sqlite_master
		WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		names = append(names, n)
	}
	return names, rows.Err()
}

func (s *source) describe(ctx context.Context, t *srcTable) error {
	if err := s.db.QueryRowContext(ctx, "SELECT coalesce(sql, '') FROM sqlite_master WHERE type = 'table' AND name = ?", t.Name).Scan(&t.SQL); err != nil {
		return err
	}
	rows, err := s.db.QueryContext(ctx, "SELECT name, type, \"notnull\", pk, dflt_value, hidden FROM pragma_table_xinfo(?)", t.Name)
	if err != nil {
		return err
	}
	for rows.Next() {
		var c srcColumn
		var nn, hidden int
		var dflt sql.NullString
		if err := rows.Scan(&c.Name, &c.Type, &nn, &c.PK, &dflt, &hidden); err != nil {
			rows.Close()
			return err
		}
		if hidden == 2 || hidden == 3 { // generated (virtual or stored)
			t.Generated = append(t.Generated, c.Name)
			continue
		}
		if hidden != 0 {
			continue // a virtual table's hidden column
		}
		c.Type, c.NotNull = strings.ToUpper(strings.TrimSpace(c.Type)), nn != 0
		if dflt.Valid {
			c.Default = &dflt.String
		}
		t.Columns = append(t.Columns, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	fk, err := s.db.QueryContext(ctx, `SELECT DISTINCT "table" FROM pragma_foreign_key_list(?)`, t.Name)
	if err != nil {
		return err
	}
	defer fk.Close()
	for fk.Next() {
		var p string
		if err := fk.Scan(&p); err != nil {
			return err
		}
		if p != t.Name {
			t.Parents = append(t.Parents, p)
		}
	}
	return fk.Err()
}

// selectSQL reads the given columns. The unary + strips the declared type, so
// the driver hands back the stored value (it would parse DATE/DATETIME text
// into time.Time otherwise) — exactly what is in the file.
func selectSQL(table string, cols []string) string {
	var b strings.Builder
	b.WriteString("SELECT ")
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("+" + sqliteIdent(c))
	}
	b.WriteString(" FROM " + sqliteIdent(table))
	return b.String()
}

func sqliteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// fkOrder sorts tables parents first (Kahn's algorithm, ties by name).
// Edges come from both databases: SQLite's declared FKs and the target's.
// Tables in a cycle go last, by name, with a warning.
func fkOrder(names []string, parents map[string][]string) (order []string, cyclic []string) {
	in := map[string]bool{}
	for _, n := range names {
		in[n] = true
	}
	deps := map[string]map[string]bool{}
	children := map[string][]string{}
	for _, n := range names {
		deps[n] = map[string]bool{}
		for _, p := range parents[n] {
			if p != n && in[p] && !deps[n][p] {
				deps[n][p] = true
				children[p] = append(children[p], n)
			}
		}
	}
	var ready []string
	for _, n := range names {
		if len(deps[n]) == 0 {
			ready = append(ready, n)
		}
	}
	sort.Strings(ready)
	done := map[string]bool{}
	for len(ready) > 0 {
		n := ready[0]
		ready = ready[1:]
		order = append(order, n)
		done[n] = true
		var next []string
		for _, c := range children[n] {
			delete(deps[c], n)
			if len(deps[c]) == 0 && !done[c] {
				next = append(next, c)
			}
		}
		ready = append(ready, next...)
		sort.Strings(ready)
	}
	for _, n := range names {
		if !done[n] {
			cyclic = append(cyclic, n)
		}
	}
	sort.Strings(cyclic)
	return append(order, cyclic...), cyclic
}
