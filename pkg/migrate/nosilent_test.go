package migrate

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quantabase/fleetctl/pkg/pg/pgtest"
)

// sqliteFile creates a SQLite file from statements.
func sqliteFile(t *testing.T, stmts ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "webui.db")
	db, err := sql.Open("sqlite", p)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	return p
}

// A table the engine creates itself (a plugin's) keeps its foreign key,
// UNIQUE, DEFAULTs and the sequence of its INTEGER PRIMARY KEY
// AUTOINCREMENT; REALs in an untyped column stay exact; words in a boolean
// column and duplicate keys into jsonb are counted; views and triggers are
// reported as not migrated.
func TestMigrateNoSilentChange(t *testing.T) {
	ctx := ctxT(t)
	src := sqliteFile(t,
		`CREATE TABLE chat (id TEXT PRIMARY KEY, title TEXT)`,
		`CREATE TABLE kv (id TEXT PRIMARY KEY, doc JSON, on_flag BOOLEAN)`,
		`CREATE TABLE plugin_counter (id INTEGER PRIMARY KEY AUTOINCREMENT, chat_id TEXT REFERENCES chat (id) ON DELETE CASCADE,
			name TEXT NOT NULL UNIQUE, n INTEGER DEFAULT 0, flag BOOLEAN DEFAULT 1, note TEXT DEFAULT 'x', v)`,
		`CREATE VIEW chat_titles AS SELECT title FROM chat`,
		`CREATE TRIGGER chat_touch AFTER INSERT ON chat BEGIN SELECT 1; END`,
		`INSERT INTO chat VALUES ('c1', 'one'), ('c2', 'two')`,
		`INSERT INTO kv VALUES ('k1', '{"a":1,"a":2}', 'yes'), ('k2', '{"a":1,"b":{"a":2}}', 'OFF'), ('k3', '[1,2]', 1)`,
		`INSERT INTO plugin_counter (chat_id, name, n, flag, v) VALUES ('c1', 'a', 5, 1, 1.0), ('c2', 'b', 6, 0, 1e20), (NULL, 'c', 7, 1, 'text')`,
	)
	db := pgtest.NewDatabase(t, srv)
	if _, err := srv.Psql(ctx, db, `CREATE TABLE chat (id text PRIMARY KEY, title text);
		CREATE TABLE kv (id text PRIMARY KEY, doc jsonb, on_flag boolean)`); err != nil {
		t.Fatal(err)
	}
	r, err := Run(ctx, Options{SQLitePath: src, URL: srv.URL(db), SkipSourceHash: true})
	if err != nil {
		t.Fatalf("%v\n%s", err, r.JSON())
	}
	if n := alterCount(r, "kv", "on_flag", AltTextToBool); n != 2 {
		t.Errorf("text-to-boolean %d, want 2", n)
	}
	if n := alterCount(r, "kv", "doc", AltJSONDuplicateKeys); n != 1 {
		t.Errorf("jsonb duplicate keys %d, want 1", n)
	}
	if w := strings.Join(r.Warnings, "\n"); !strings.Contains(w, "view chat_titles is not migrated") || !strings.Contains(w, "trigger chat_touch (on chat) is not migrated") {
		t.Errorf("warnings: %s", w)
	}
	checks := map[string]string{
		`SELECT string_agg(v, ' ' ORDER BY id) FROM plugin_counter`:                                                              "1.0 1.0e+20 text",
		`SELECT count(*) FROM pg_constraint WHERE conrelid = 'plugin_counter'::regclass AND contype = 'f' AND confdeltype = 'c'`: "1",
		`SELECT count(*) FROM pg_constraint WHERE conrelid = 'plugin_counter'::regclass AND contype = 'u'`:                       "1",
		`SELECT string_agg(column_name || '=' || column_default, ' ' ORDER BY column_name) FROM information_schema.columns
			WHERE table_name = 'plugin_counter' AND column_default IS NOT NULL`: "flag=true n=0 note='x'::text",
		`INSERT INTO plugin_counter (name) VALUES ('d') RETURNING id`: "4",
		`SELECT doc::text FROM kv WHERE id = 'k1'`:                    `{"a": 2}`,
	}
	for q, want := range checks {
		if got, err := srv.Psql(ctx, db, q); err != nil || got != want {
			t.Errorf("%s: %q %v, want %q", q, got, err, want)
		}
	}
	if _, err := srv.Psql(ctx, db, `INSERT INTO plugin_counter (chat_id, name) VALUES ('missing', 'e')`); err == nil {
		t.Error("the carried foreign key does not hold")
	}
}

// What PostgreSQL would change silently is refused before anything is
// written: a name over 63 bytes, a generated column, a default expression.
func TestMigrateRefusesSilentChanges(t *testing.T) {
	ctx := ctxT(t)
	long := strings.Repeat("c", 64)
	src := sqliteFile(t,
		`CREATE TABLE plugin (id TEXT PRIMARY KEY, `+long+` TEXT, a INTEGER, b INTEGER GENERATED ALWAYS AS (a * 2) STORED,
			at TEXT DEFAULT (datetime('now')))`,
		`INSERT INTO plugin (id, a) VALUES ('p', 1)`,
	)
	db := pgtest.NewDatabase(t, srv)
	_, err := Run(ctx, Options{SQLitePath: src, URL: srv.URL(db), SkipSourceHash: true})
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "64 bytes") || !strings.Contains(err.Error(), "plugin.b is a generated column") ||
		!strings.Contains(err.Error(), "DEFAULT datetime('now')") {
		t.Fatalf("err %v", err)
	}
	if n, _ := srv.Psql(context.Background(), db, `SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'`); n != "0" {
		t.Fatalf("the refused run created %s table(s)", n)
	}
}
