package migrate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quantabase/fleetctl/pkg/migrate/fixture"
	"github.com/quantabase/fleetctl/pkg/pg/pgtest"
)

var srv *pgtest.Server

func TestMain(m *testing.M) { pgtest.Main(m, &srv, pgtest.Options{}) }

type fx struct {
	path string
	st   *fixture.Stats
}

// makeFixture builds a small fixture in the test's temp dir (~0.1 s).
func makeFixture(t *testing.T, rows int) fx {
	t.Helper()
	p := filepath.Join(t.TempDir(), "webui.db")
	st, err := fixture.Generate(context.Background(), p, fixture.Options{Rows: rows, Seed: 1, ChatJSONBytes: 800})
	if err != nil {
		t.Fatal(err)
	}
	return fx{p, st}
}

func sha(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func alterCount(r *Report, table, column, kind string) int64 {
	for _, tr := range r.Tables {
		if tr.Name != table {
			continue
		}
		for _, a := range tr.Alter {
			if a.Column == column && a.Kind == kind {
				return a.Count
			}
		}
	}
	return 0
}

// Into an app-created schema (json, boolean, date, serial id): every
// anomaly is coerced, counted and verified; the SQLite file is unchanged.
func TestMigrateIntoAppSchema(t *testing.T) {
	f := makeFixture(t, 3000)
	db := pgtest.NewDatabase(t, srv)
	ctx := ctxT(t)
	if _, err := srv.Psql(ctx, db, appSchemaSQL); err != nil {
		t.Fatal(err)
	}
	before := sha(t, f.path)
	var progressCalls int
	r, err := Run(ctx, Options{SQLitePath: f.path, URL: srv.URL(db), Progress: func(Progress) { progressCalls++ }})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, r.JSON())
	}
	if after := sha(t, f.path); after != before || r.SourceSHA256 != before {
		t.Errorf("source changed or misreported: %s %s %s", before, after, r.SourceSHA256)
	}
	if !r.SchemaFromApp || r.CopiedRows != f.st.Rows-1 || progressCalls == 0 {
		t.Errorf("schemaFromApp %v copied %d of %d (alembic skipped), progress %d", r.SchemaFromApp, r.CopiedRows, f.st.Rows, progressCalls)
	}
	for _, tr := range r.Tables {
		if tr.Name == "alembic_version" {
			if tr.Action != "skip" {
				t.Errorf("alembic_version: %s", tr.Action)
			}
			continue
		}
		if !tr.Verified || tr.SourceSum != tr.TargetSum || tr.TargetRows != tr.SourceRows {
			t.Errorf("%s not verified: %+v", tr.Name, tr)
		}
	}
	for _, c := range []struct {
		table, col, kind string
		want             int64
	}{
		{"chat_message", "content", AltNULRemoved, f.st.NULValues},
		{"chat", "meta", AltInvalidJSON, f.st.InvalidJSON},
		{"user", "date_of_birth", AltEmptyToNull, f.st.EmptyDates},
		{"chat", "pinned", AltIntToTrue, 1},
	} {
		if got := alterCount(r, c.table, c.col, c.kind); got != c.want || got == 0 {
			t.Errorf("%s.%s %s: %d, want %d", c.table, c.col, c.kind, got, c.want)
		}
	}
	// FK order: parents first.
	pos := map[string]int{}
	for i, tr := range r.Tables {
		pos[tr.Name] = i
	}
	if pos["chat"] > pos["chat_message"] || pos["knowledge"] > pos["knowledge_file"] || pos["file"] > pos["knowledge_file"] {
		t.Errorf("not parents first: %v", pos)
	}
	// Only the NUL went; invalid JSON became a JSON string; ns timestamps intact; sequence reset.
	checks := map[string]string{
		`SELECT count(*) FROM chat_message WHERE content LIKE 'beforeafter %'`:         itoa(f.st.NULValues),
		`SELECT meta::text FROM chat WHERE id = 'c-0000007'`:                           `"{\"tags\": [unterminated"`,
		`SELECT max(created_at) > 1000000000000000000 FROM message`:                    "t",
		`SELECT count(*) FROM "user" WHERE date_of_birth IS NULL`:                      itoa(nullDOB(f.st)),
		`SELECT nextval('access_grant_id_seq') = (SELECT max(id)+1 FROM access_grant)`: "t",
		`SELECT title FROM chat WHERE title LIKE '%🚀%' OR title LIKE '%日本語%' LIMIT 1`:  "",
		`SELECT pinned FROM chat WHERE id = 'c-0000003'`:                               "t",
		`SELECT count(*) FROM alembic_version`:                                         "1",
		`SELECT version_num FROM alembic_version`:                                      "standin_0_0_0",
		`SELECT to_char(created_at, 'YYYY-MM-DD HH24:MI:SS.MS') FROM config`:           "2024-05-01 10:00:00.000",
	}
	for q, want := range checks {
		got, err := srv.Psql(ctx, db, q)
		if err != nil {
			t.Errorf("%s: %v", q, err)
			continue
		}
		if want != "" && got != want {
			t.Errorf("%s = %q, want %q", q, got, want)
		}
		if want == "" && got == "" {
			t.Errorf("%s: no unicode title found", q)
		}
	}
	if !strings.Contains(string(r.JSON()), AltNULRemoved) || strings.Contains(string(r.JSON()), pgtest.Password) {
		t.Errorf("report: %s", r.JSON())
	}

	// A second run is refused before anything is written: the target has rows.
	r2, err := Run(ctx, Options{SQLitePath: f.path, URL: srv.URL(db)})
	if !errors.Is(err, ErrTargetNotEmpty) || r2.OK {
		t.Errorf("second run: %v", err)
	}
	// --force empties and copies again.
	if r3, err := Run(ctx, Options{SQLitePath: f.path, URL: srv.URL(db), Force: true}); err != nil || len(r3.Forced) == 0 {
		t.Errorf("forced run: %v %v", err, r3.Forced)
	}
}

// nullDOB: user i has a date when i%3 == 0, ” when 1 (→ NULL), NULL when 2.
func nullDOB(st *fixture.Stats) int64 { n := st.Tables["user"]; return n - (n+2)/3 }

func itoa(n int64) string { return strconvItoa(n) }

// Into an empty database: tables are created from the SQLite schema with
// the explicit type mapping, alembic_version is copied, all verified.
func TestMigrateCreatesTables(t *testing.T) {
	f := makeFixture(t, 3000)
	db := pgtest.NewDatabase(t, srv)
	ctx := ctxT(t)
	r, err := Run(ctx, Options{SQLitePath: f.path, URL: srv.URL(db)})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, r.JSON())
	}
	if r.SchemaFromApp || r.CopiedRows != f.st.Rows {
		t.Errorf("copied %d of %d", r.CopiedRows, f.st.Rows)
	}
	got, err := srv.Psql(ctx, db, `SELECT string_agg(table_name||'.'||column_name||'='||data_type, ',' ORDER BY table_name, column_name) FROM information_schema.columns
		WHERE (table_name, column_name) IN (('auth','active'),('user','date_of_birth'),('config','created_at'),('chat','chat'))`)
	if err != nil {
		t.Fatal(err)
	}
	if got != "auth.active=boolean,chat.chat=text,config.created_at=timestamp without time zone,user.date_of_birth=date" {
		t.Errorf("types: %s", got)
	}
}

func TestMigrateDryRunAndPreflight(t *testing.T) {
	f := makeFixture(t, 3000)
	db := pgtest.NewDatabase(t, srv)
	ctx := ctxT(t)
	r, err := Run(ctx, Options{SQLitePath: f.path, URL: srv.URL(db), DryRun: true, WantVector: true})
	if err != nil || !r.DryRun || r.TotalRows != f.st.Rows || r.CopiedRows != 0 || len(r.Warnings) == 0 {
		t.Errorf("dry run: %v %+v", err, r)
	}
	if n, _ := srv.Psql(ctx, db, `SELECT count(*) FROM information_schema.tables WHERE table_schema='public'`); n != "0" {
		t.Errorf("dry run created %s tables", n)
	}
	const wrong = "wr0ng@#!%&:/"
	r, err = Run(ctx, Options{SQLitePath: f.path, URL: srv.URLWithPassword(db, wrong), DryRun: true})
	if !errors.Is(err, ErrPreflight) || strings.Contains(string(r.JSON()), wrong) || strings.Contains(err.Error(), "wr0ng") {
		t.Errorf("wrong password: %v\n%s", err, r.JSON())
	}
}

// The server dies in the middle of the copy: the run fails, nothing is
// committed (one transaction), the source is unchanged.
func TestMigrateServerStopsMidCopy(t *testing.T) {
	pgtest.Need(t, srv)
	own, err := pgtest.Start(ctxT(t), pgtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(own.Stop)
	f := makeFixture(t, 3000)
	ctx := ctxT(t)
	db, err := own.CreateDatabase(ctx, "kill")
	if err != nil {
		t.Fatal(err)
	}
	before := sha(t, f.path)
	var once sync.Once
	r, err := Run(ctx, Options{SQLitePath: f.path, URL: own.URL(db), Progress: func(p Progress) {
		if p.Phase == "copy" && p.Table == "chat_message" {
			once.Do(func() {
				if err := own.Kill(); err != nil {
					t.Error(err)
				}
			})
		}
	}})
	if err == nil || r.OK || !r.RolledBack || r.FailedTable == "" {
		t.Fatalf("want failure, got %v\n%s", err, r.JSON())
	}
	if sha(t, f.path) != before {
		t.Error("source changed")
	}
}
