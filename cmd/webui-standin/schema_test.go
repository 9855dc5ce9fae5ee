package main

import (
	"database/sql"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quantabase/fleetctl/pkg/openwebui"
)

const adminPassword = "Adm1n-distinctive-pw-93c1"

// sqliteLayout lists every column (type, not-null, default, key position)
// and every index of a SQLite database, one line each.
func sqliteLayout(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query(`SELECT m.name || '.' || p.name || ' ' || p.type || ' notnull=' || p."notnull" ||
			' default=' || ifnull(p.dflt_value, '-') || ' pk=' || p.pk
		FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table'
		UNION ALL SELECT 'index ' || name || ' on ' || tbl_name || ': ' || ifnull(sql, '(automatic)') FROM sqlite_master WHERE type = 'index'
		ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func queryOne(t *testing.T, db *sql.DB, q string, args ...any) string {
	t.Helper()
	var s sql.NullString
	if err := db.QueryRow(q, args...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return s.String
}

// After start-up the SQLite database holds the real v0.11.0 schema (the
// same 43 tables, columns, types, defaults, keys and indexes as a database
// built straight from the app's schema), alembic_version at the head, the
// seeded config rows and the admin; a restart changes none of it.
func TestSQLiteSchemaAtStart(t *testing.T) {
	dir := t.TempDir()
	env := mapEnv{"DATA_DIR": dir, "WEBUI_ADMIN_EMAIL": "Boss@Example.COM", "WEBUI_ADMIN_PASSWORD": adminPassword,
		"WEBUI_URL": "https://acme.example.com"}
	t0 := time.Now().Unix()
	_, s := newTestServer(t, env)
	db := s.store.db

	ref, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "ref.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	stmts, err := openwebui.SQLiteSchema(openwebui.Version)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range stmts {
		if _, err := ref.Exec(st); err != nil {
			t.Fatal(err)
		}
	}
	got, want := sqliteLayout(t, db), sqliteLayout(t, ref)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("schema differs from the app's v0.11.0 schema:\n got %d lines\nwant %d lines\n%s", len(got), len(want), firstDiff(got, want))
	}
	if n := queryOne(t, db, `SELECT count(*) FROM sqlite_master WHERE type = 'table'`); n != "43" {
		t.Errorf("tables: %s, want 43", n)
	}
	for _, c := range []string{
		"chat_message.content JSON notnull=0", "chat.archived BOOLEAN notnull=0", "message.created_at BIGINT notnull=0",
		"config.value JSON notnull=1", "config.key TEXT notnull=1", "access_grant.id TEXT notnull=1",
	} {
		if !containsPrefix(got, c) {
			t.Errorf("no column %q", c)
		}
	}
	if v := queryOne(t, db, `SELECT group_concat(version_num) FROM alembic_version`); v != openwebui.Head {
		t.Errorf("alembic_version %q, want %s", v, openwebui.Head)
	}

	// config: the app's key/value rows, JSON values, updated_at in seconds.
	if v := queryOne(t, db, `SELECT value FROM config WHERE "key" = 'webui.url'`); v != `"https://acme.example.com"` {
		t.Errorf("webui.url = %s", v)
	}
	if v := queryOne(t, db, `SELECT value FROM config WHERE "key" = 'ui.enable_signup'`); v != "false" {
		t.Errorf("ui.enable_signup = %s after the admin was created, want false", v)
	}
	if u, _ := strconv.ParseInt(queryOne(t, db, `SELECT min(updated_at) FROM config`), 10, 64); u < t0 || u > time.Now().Unix() {
		t.Errorf("config.updated_at %d: want epoch seconds from %d", u, t0)
	}

	// The admin: user + auth, lower-cased email, hashed password, active as 1.
	if v := queryOne(t, db, `SELECT u.role || ' ' || u.email || ' ' || u.name || ' ' || a.email || ' ' || typeof(a.active) || a.active
		FROM "user" u JOIN auth a ON a.id = u.id`); v != "admin boss@example.com Admin boss@example.com integer1" {
		t.Errorf("admin: %q", v)
	}
	if pw := queryOne(t, db, `SELECT password FROM auth`); strings.Contains(pw, adminPassword) || !strings.HasPrefix(pw, "standin-sha256$") {
		t.Errorf("stored password %q: want a hash", pw)
	}

	// A restart: schema, rows and an operator's config change stay as they are.
	if _, err := db.Exec(`UPDATE config SET value = '"https://changed.example.com"' WHERE "key" = 'webui.url'`); err != nil {
		t.Fatal(err)
	}
	before := sqliteLayout(t, db)
	s.store.Close()
	s2, notes := bootEnv(t, env)
	defer s2.store.Close()
	if !strings.Contains(notes, "schema present, 0 config row(s) seeded") || strings.Contains(notes, "admin") {
		t.Errorf("restart: %s", notes)
	}
	db2 := s2.store.db
	if after := sqliteLayout(t, db2); !reflect.DeepEqual(before, after) {
		t.Errorf("restart changed the schema:\n%s", firstDiff(after, before))
	}
	if v := queryOne(t, db2, `SELECT count(*) || ' ' || (SELECT count(*) FROM alembic_version) FROM "user"`); v != "1 1" {
		t.Errorf("users, alembic rows after restart: %s", v)
	}
	if v := queryOne(t, db2, `SELECT value FROM config WHERE "key" = 'webui.url'`); v != `"https://changed.example.com"` {
		t.Errorf("restart overwrote a config value: %s", v)
	}
}

// ENABLE_PERSISTENT_CONFIG=false seeds nothing; an admin is not created
// without a password, nor when a user exists.
func TestSeedingRules(t *testing.T) {
	_, s := newTestServer(t, mapEnv{"ENABLE_PERSISTENT_CONFIG": "false", "WEBUI_ADMIN_EMAIL": "a@example.com"})
	if v := queryOne(t, s.store.db, `SELECT (SELECT count(*) FROM config) || ' ' || (SELECT count(*) FROM "user")`); v != "0 0" {
		t.Errorf("config rows, users: %s", v)
	}
	dir := t.TempDir()
	_, s1 := newTestServer(t, mapEnv{"DATA_DIR": dir, "WEBUI_ADMIN_EMAIL": "first@example.com", "WEBUI_ADMIN_PASSWORD": "x"})
	s1.store.Close()
	_, s2 := newTestServer(t, mapEnv{"DATA_DIR": dir, "WEBUI_ADMIN_EMAIL": "second@example.com", "WEBUI_ADMIN_PASSWORD": "y"})
	if v := queryOne(t, s2.store.db, `SELECT group_concat(email) FROM "user"`); v != "first@example.com" {
		t.Errorf("users: %s", v)
	}
}

// A database at another Alembic revision is left alone (the app logs a
// failed upgrade and goes on): nothing created, nothing seeded.
func TestOtherRevisionLeftAlone(t *testing.T) {
	dir := t.TempDir()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "webui.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)`,
		`INSERT INTO alembic_version VALUES ('0123456789ab')`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	e := mapEnv{"DATA_DIR": dir}
	tempKeyFile(t, e)
	s, notes := bootEnv(t, e)
	defer s.store.Close()
	if !strings.Contains(notes, `left alone: alembic_version is "0123456789ab"`) {
		t.Errorf("notes: %s", notes)
	}
	if n := queryOne(t, s.store.db, `SELECT count(*) FROM sqlite_master WHERE type = 'table'`); n != "1" {
		t.Errorf("tables: %s, want only alembic_version", n)
	}
}

func containsPrefix(lines []string, p string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return false
}

func firstDiff(got, want []string) string {
	for i := 0; i < len(got) || i < len(want); i++ {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			return "first difference:\n got " + g + "\nwant " + w
		}
	}
	return "(same)"
}
