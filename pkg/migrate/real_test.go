package migrate

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quantabase/fleetctl/pkg/migrate/fixture"
	"github.com/quantabase/fleetctl/pkg/openwebui"
	"github.com/quantabase/fleetctl/pkg/pg/pgtest"
)

// Migration tests against Open WebUI's real schema: the source from
// schema-sqlite.sql filled by the fixture generator, the target from
// schema-postgres.sql with what the application's first start writes
// (its revision, its config rows).

func realSource(t *testing.T, o fixture.RealOptions) (string, *fixture.Stats) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "webui.db")
	if o.Seed == 0 {
		o.Seed = 7
	}
	st, err := fixture.GenerateReal(context.Background(), p, o)
	if err != nil {
		t.Fatal(err)
	}
	return p, st
}

func realTarget(t *testing.T, ctx context.Context, revision string) string {
	t.Helper()
	db := pgtest.NewDatabase(t, srv)
	ddl, err := openwebui.PostgresSchema(openwebui.Version, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Psql(ctx, db, ddl); err != nil {
		t.Fatal(err)
	}
	// The schema step: the app's revision and the config rows it seeds.
	if _, err := srv.Psql(ctx, db, `INSERT INTO alembic_version VALUES ('`+revision+`');
		INSERT INTO config (key, value, updated_at) VALUES ('ui.default_locale', '"en"', 1), ('version', '0', 1)`); err != nil {
		t.Fatal(err)
	}
	return db
}

// constraints counts the target's foreign keys (all validated) and unique
// indexes, with digests of every index's and constraint's definition (the
// copy drops and recreates secondary indexes and foreign keys).
func constraints(t *testing.T, ctx context.Context, db string) string {
	t.Helper()
	out, err := srv.Psql(ctx, db, `SELECT (SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND convalidated AND connamespace = 'public'::regnamespace)
		|| ' ' || (SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid WHERE i.indisunique AND c.relnamespace = 'public'::regnamespace)
		|| ' ' || (SELECT md5(string_agg(pg_get_indexdef(i.indexrelid), ';' ORDER BY pg_get_indexdef(i.indexrelid)))
			FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid WHERE c.relnamespace = 'public'::regnamespace)
		|| ' ' || (SELECT md5(string_agg(conname || pg_get_constraintdef(oid), ';' ORDER BY conname)) FROM pg_constraint WHERE connamespace = 'public'::regnamespace)`)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMigrateRealSchemaOrphans(t *testing.T) {
	ctx := ctxT(t)
	src, st := realSource(t, fixture.RealOptions{Rows: 4000, Orphans: 3})
	db := realTarget(t, ctx, openwebui.Head)
	before := constraints(t, ctx, db)
	if !strings.HasPrefix(before, "18 ") {
		t.Fatalf("the real schema has %s foreign keys and unique indexes", before)
	}
	seeded, err := FindSeeded(ctx, srv.URL(db), "", nil)
	if err != nil || seeded.Count() != 2 {
		t.Fatalf("seeded: %v %v", seeded, err)
	}

	// Default: the preflight lists the orphans per foreign key and refuses.
	r, err := Run(ctx, Options{SQLitePath: src, URL: srv.URL(db), DryRun: true, SkipSourceHash: true, Seeded: seeded})
	if !errors.Is(err, ErrOrphans) {
		t.Fatalf("dry run: %v", err)
	}
	got := map[string]int64{}
	for _, o := range r.Orphans {
		got[o.ForeignKey] = o.Rows
	}
	if got["chat_message(chat_id) → chat(id)"] != 3 || got["chat_file(file_id) → file(id)"] != 1 || len(got) != 2 ||
		!strings.Contains(err.Error(), "orphan-message-0") || !strings.Contains(err.Error(), "--orphans=quarantine") {
		t.Fatalf("orphans: %v\n%v", got, err)
	}

	// Quarantine: every other row moves, verified; the orphans are in the side file.
	qpath := filepath.Join(t.TempDir(), "orphans.db")
	r, err = Run(ctx, Options{SQLitePath: src, URL: srv.URL(db), Orphans: OrphansQuarantine, QuarantinePath: qpath, Seeded: seeded})
	if err != nil {
		t.Fatalf("run: %v\n%s", err, r.JSON())
	}
	if r.Quarantined != st.Orphans || r.SeededRemoved != 2 || r.QuarantineFile != qpath {
		t.Fatalf("quarantined %d (want %d), seeded removed %d", r.Quarantined, st.Orphans, r.SeededRemoved)
	}
	tables, _ := openwebui.Tables(openwebui.Version)
	seen := map[string]bool{}
	for _, tr := range r.Tables {
		seen[tr.Name] = true
		if tr.Action == "skip" {
			continue
		}
		if tr.Action != "copy" || !tr.Verified || tr.TargetRows != st.Tables[tr.Name]-tr.Quarantined {
			t.Errorf("%s: %+v (source %d)", tr.Name, tr, st.Tables[tr.Name])
		}
	}
	for _, n := range tables {
		if !seen[n] {
			t.Errorf("table %s not in the report", n)
		}
	}
	if after := constraints(t, ctx, db); after != before {
		t.Fatalf("constraints before %s, after %s", before, after)
	}
	if n := alterCount(r, "chat", "title", "nul-removed"); n != st.NULValues {
		t.Errorf("nul-removed %d, want %d", n, st.NULValues)
	}
	checks := map[string]string{
		`SELECT count(*) FROM chat_message WHERE id LIKE 'orphan-%'`:              "0",
		`SELECT count(*) FROM config WHERE key = 'ui.default_locale'`:             "0",
		`SELECT version_num FROM alembic_version`:                                 openwebui.Head,
		`SELECT count(*) FROM "user" WHERE date_of_birth IS NULL`:                 "",
		`SELECT content::text FROM chat_message WHERE id = 'chat_message-000001'`: "",
	}
	for q, want := range checks {
		out, err := srv.Psql(ctx, db, q)
		if err != nil || (want != "" && out != want) {
			t.Errorf("%s: %q %v (want %q)", q, out, err, want)
		}
	}
	qdb, err := sql.Open("sqlite", qpath)
	if err != nil {
		t.Fatal(err)
	}
	defer qdb.Close()
	var qn int64
	if err := qdb.QueryRow(`SELECT (SELECT count(*) FROM chat_message) + (SELECT count(*) FROM chat_file)`).Scan(&qn); err != nil || qn != st.Orphans {
		t.Fatalf("quarantine file: %d rows (%v)", qn, err)
	}
}

func TestMigrateRealSchemaRefusesBeforeWriting(t *testing.T) {
	ctx := ctxT(t)
	// A pair that collides once the NUL goes: refused with the key.
	src, _ := realSource(t, fixture.RealOptions{Rows: 1000, Duplicates: 1})
	db := realTarget(t, ctx, openwebui.Head)
	_, err := Run(ctx, Options{SQLitePath: src, URL: srv.URL(db), DryRun: true, Force: true, SkipSourceHash: true})
	if !errors.Is(err, ErrDuplicates) || !strings.Contains(err.Error(), "api_key(key)") || !strings.Contains(err.Error(), "sk-dup-0") {
		t.Fatalf("duplicates: %v", err)
	}
	// Schema revisions differ: both named, nothing written.
	src, _ = realSource(t, fixture.RealOptions{Rows: 1000})
	db = realTarget(t, ctx, "0123456789ab")
	_, err = Run(ctx, Options{SQLitePath: src, URL: srv.URL(db), Force: true, SkipSourceHash: true})
	if !errors.Is(err, ErrVersionSkew) || !strings.Contains(err.Error(), openwebui.Head) || !strings.Contains(err.Error(), "0123456789ab") {
		t.Fatalf("skew: %v", err)
	}
	if n, _ := srv.Psql(ctx, db, `SELECT count(*) FROM config`); n != "2" {
		t.Fatalf("the refused run wrote: config has %s rows", n)
	}
	// An encrypted (SQLCipher) file: no SQLite header.
	enc := filepath.Join(t.TempDir(), "webui.db")
	if err := os.WriteFile(enc, []byte(strings.Repeat("\x8f\x13encrypted page ", 300)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Run(ctx, Options{SQLitePath: enc, URL: srv.URL(db), DryRun: true, SkipSourceHash: true})
	if !errors.Is(err, ErrNotPlainSQLite) || !strings.Contains(err.Error(), "sqlcipher") {
		t.Fatalf("encrypted: %v", err)
	}
}
