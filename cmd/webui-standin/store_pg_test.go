package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/quantabase/fleetctl/pkg/pg/pgtest"
)

var pgsrv *pgtest.Server

func TestMain(m *testing.M) { pgtest.Main(m, &pgsrv, pgtest.Options{}) }

// The test API works the same on PostgreSQL, and the schema has the
// PostgreSQL types Open WebUI's migrations create (json, boolean, bigint).
func TestPostgresStore(t *testing.T) {
	db := pgtest.NewDatabase(t, pgsrv)
	ts, _ := newTestServer(t, mapEnv{"DATABASE_URL": pgsrv.URL(db)})

	body := `{"id":"c1","user_id":"u1","title":"héllo 🌍","chat":{"messages":[{"content":"hi"}]}}`
	if code, out := do(t, "POST", ts.URL+"/_standin/chats", body, nil); code != 201 {
		t.Fatalf("create: %d %s", code, out)
	}
	var got chatRow
	if code, out := do(t, "GET", ts.URL+"/_standin/chats/c1", "", &got); code != 200 {
		t.Fatalf("get: %d %s", code, out)
	}
	if got.Title != "héllo 🌍" || string(got.Chat) != `{"messages":[{"content":"hi"}]}` || got.Archived || string(got.Meta) != "{}" {
		t.Errorf("got %+v", got)
	}
	if code, _ := do(t, "POST", ts.URL+"/_standin/chats", body, nil); code != 409 {
		t.Errorf("duplicate: %d", code)
	}
	if code, _ := do(t, "GET", ts.URL+"/health/db", "", nil); code != 200 {
		t.Errorf("health/db: %d", code)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	types, err := pgsrv.Psql(ctx, db, `SELECT table_name||'.'||column_name||'='||data_type FROM information_schema.columns
		WHERE table_schema='public' AND (table_name, column_name) IN (('chat','chat'),('chat','archived'),('chat','created_at'),('user','date_of_birth'),('config','created_at'))
		ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	want := "chat.archived=boolean\nchat.chat=json\nchat.created_at=bigint\nconfig.created_at=timestamp without time zone\nuser.date_of_birth=date"
	if types != want {
		t.Errorf("column types:\n%s\nwant\n%s", types, want)
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
}
