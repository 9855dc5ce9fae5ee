package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/quantabase/fleetctl/pkg/openwebui"
	"github.com/quantabase/fleetctl/pkg/pg/pgtest"
)

var pgsrv *pgtest.Server

func TestMain(m *testing.M) { pgtest.Main(m, &pgsrv, pgtest.Options{}) }

func psql(t *testing.T, srv *pgtest.Server, db, q string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := srv.Psql(ctx, db, q)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// pgLayout lists every column (type, nullability, default), constraint and
// index of the public schema, one line each.
const pgLayout = `SELECT string_agg(l, E'\n' ORDER BY l) FROM (
	SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '-') AS l
		FROM information_schema.columns WHERE table_schema = 'public'
	UNION ALL SELECT 'constraint ' || conrelid::regclass || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = 'public'::regnamespace
	UNION ALL SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public') x`

// On an empty PostgreSQL database the stand-in creates the real v0.11.0
// schema: the same tables, column types, constraints and indexes as the
// app's own dump applied directly, alembic_version at the head, and seeds
// config; the test API works the same as on SQLite.
func TestPostgresStore(t *testing.T) {
	db := pgtest.NewDatabase(t, pgsrv)
	ts, _ := newTestServer(t, mapEnv{"DATABASE_URL": pgsrv.URL(db), "WEBUI_ADMIN_EMAIL": "a@example.com", "WEBUI_ADMIN_PASSWORD": adminPassword})

	ref := pgtest.NewDatabase(t, pgsrv)
	script, err := openwebui.PostgresSchema(openwebui.Version, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgsrv.URL(ref))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, script); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	if got, want := psql(t, pgsrv, db, pgLayout), psql(t, pgsrv, ref, pgLayout); got != want {
		t.Errorf("schema differs from the app's v0.11.0 schema:\n%s", firstDiff(strings.Split(got, "\n"), strings.Split(want, "\n")))
	}
	if n := psql(t, pgsrv, db, `SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'`); n != "43" {
		t.Errorf("tables: %s, want 43", n)
	}
	types := psql(t, pgsrv, db, `SELECT string_agg(table_name||'.'||column_name||'='||data_type, ' ' ORDER BY table_name, column_name) FROM information_schema.columns
		WHERE table_schema='public' AND (table_name, column_name) IN (('chat','chat'),('chat','archived'),('chat_message','content'),
		('message','created_at'),('function','meta'),('config','value'),('access_grant','id'))`)
	want := "access_grant.id=text chat.archived=boolean chat.chat=json chat_message.content=json config.value=json function.meta=text message.created_at=bigint"
	if types != want {
		t.Errorf("column types:\n%s\nwant\n%s", types, want)
	}
	if v := psql(t, pgsrv, db, `SELECT version_num FROM alembic_version`); v != openwebui.Head {
		t.Errorf("alembic_version %q", v)
	}
	if v := psql(t, pgsrv, db, `SELECT (SELECT value::text FROM config WHERE key = 'ui.enable_signup') || ' ' || u.role || ' ' || a.active
		FROM "user" u JOIN auth a USING (id)`); v != "false admin true" {
		t.Errorf("seeded rows: %q", v)
	}

	body := `{"id":"c1","user_id":"u1","title":"héllo 🌍","chat":{"messages":[{"id":"m1","content":"hi"}]}}`
	if code, out := do(t, "POST", ts.URL+"/_standin/chats", body, nil); code != 201 {
		t.Fatalf("create: %d %s", code, out)
	}
	var got chatRow
	if code, out := do(t, "GET", ts.URL+"/_standin/chats/c1", "", &got); code != 200 {
		t.Fatalf("get: %d %s", code, out)
	}
	if got.Title != "héllo 🌍" || string(got.Chat) != `{"messages":[{"id":"m1","content":"hi"}]}` || got.Archived || string(got.Meta) != "{}" ||
		len(got.Messages) != 1 || got.Messages[0].ID != "c1-m1" || string(got.Messages[0].Content) != `"hi"` || !got.Messages[0].Done {
		t.Errorf("got %+v", got)
	}
	if v := psql(t, pgsrv, db, `SELECT content::text || ' ' || done FROM chat_message`); v != `"hi" true` {
		t.Errorf("chat_message row: %s", v)
	}
	if code, _ := do(t, "POST", ts.URL+"/_standin/chats", body, nil); code != 409 {
		t.Errorf("duplicate: %d", code)
	}
	if code, _ := do(t, "GET", ts.URL+"/ready", "", nil); code != 200 {
		t.Errorf("ready: %d", code)
	}
}

// A second start finds the schema in place and keeps the data.
func TestPostgresStoreRestart(t *testing.T) {
	db := pgtest.NewDatabase(t, pgsrv)
	e := mapEnv{"DATABASE_URL": strings.Replace(pgsrv.URL(db), "postgres://", "postgresql://", 1)}
	ts, _ := newTestServer(t, e)
	do(t, "POST", ts.URL+"/_standin/chats", `{"id":"x"}`, nil)
	ts2, _ := newTestServer(t, mapEnv{"DATABASE_URL": e["DATABASE_URL"], "DATA_DIR": t.TempDir()})
	var list struct{ IDs []string }
	do(t, "GET", ts2.URL+"/_standin/chats", "", &list)
	if len(list.IDs) != 1 || list.IDs[0] != "x" {
		t.Errorf("ids %v", list.IDs)
	}
	if v := psql(t, pgsrv, db, `SELECT count(*) FROM alembic_version`); v != "1" {
		t.Errorf("alembic_version rows: %s", v)
	}
}

// /ready follows the database: 503 while it refuses connections, 200 again
// once it takes them; /health says true throughout.
func TestPostgresReadyFollowsTheDatabase(t *testing.T) {
	db := pgtest.NewDatabase(t, pgsrv)
	ts, _ := newTestServer(t, mapEnv{"DATABASE_URL": pgsrv.URL(db)})
	if code, _ := do(t, "GET", ts.URL+"/ready", "", nil); code != 200 {
		t.Fatalf("ready: %d", code)
	}
	psql(t, pgsrv, "postgres", `ALTER DATABASE "`+db+`" ALLOW_CONNECTIONS false`)
	t.Cleanup(func() { psql(t, pgsrv, "postgres", `ALTER DATABASE "`+db+`" ALLOW_CONNECTIONS true`) })
	psql(t, pgsrv, "postgres", `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '`+db+`'`)
	expectDBGone(t, ts.URL)
	psql(t, pgsrv, "postgres", `ALTER DATABASE "`+db+`" ALLOW_CONNECTIONS true`)
	if code, body := do(t, "GET", ts.URL+"/ready", "", nil); code != 200 {
		t.Errorf("ready after the database came back: %d %s", code, body)
	}
}

// PostgreSQL stopped: /ready 503, /health/db 500, /health still true.
func TestPostgresStopped(t *testing.T) {
	pgtest.Need(t, pgsrv)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := pgtest.Start(ctx, pgtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	ts, _ := newTestServer(t, mapEnv{"DATABASE_URL": srv.URL("postgres")})
	if code, _ := do(t, "GET", ts.URL+"/ready", "", nil); code != 200 {
		t.Fatalf("ready: %d", code)
	}
	srv.Stop()
	expectDBGone(t, ts.URL)
}
