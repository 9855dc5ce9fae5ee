package pg

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/quantabase/fleetctl/pkg/pg/pgtest"
)

var srv *pgtest.Server

func TestMain(m *testing.M) { pgtest.Main(m, &srv, pgtest.Options{}) }

func TestDescribe(t *testing.T) {
	db := pgtest.NewDatabase(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := srv.Psql(ctx, db, `CREATE TABLE "user" (id text primary key); INSERT INTO "user" VALUES ('a'),('b');
		CREATE TABLE "group" (id text); CREATE TABLE alembic_version (v text); INSERT INTO alembic_version VALUES ('x')`); err != nil {
		t.Fatal(err)
	}
	for _, simple := range []bool{false, true} {
		in := Describe(ctx, srv.URL(db), Options{SimpleProtocol: simple})
		if !in.Reachable || in.Error != "" {
			t.Fatalf("not reachable: %+v", in)
		}
		if !strings.HasPrefix(in.ServerVersion, pgtest.Version+".") || in.ServerVersionNum/10000 != 15 {
			t.Errorf("version %q %d", in.ServerVersion, in.ServerVersionNum)
		}
		if in.Database != db || in.User != "postgres" || in.Host != "127.0.0.1" || in.SimpleProtocol != simple {
			t.Errorf("info %+v", in)
		}
		want := []Table{{"alembic_version", 1}, {"group", 0}, {"user", 2}}
		if got, _ := json.Marshal(in.Tables); string(got) != mustJSON(want) {
			t.Errorf("tables %s, want %s", got, mustJSON(want))
		}
		out, _ := json.Marshal(in)
		if strings.Contains(string(out), pgtest.Password) {
			t.Errorf("info shows the password: %s", out)
		}
	}

	conn, err := Connect(ctx, srv.URL(db), Options{SimpleProtocol: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	ne, err := NonEmpty(ctx, conn, "public", "alembic_version")
	if err != nil || len(ne) != 1 || ne[0] != "user" {
		t.Errorf("NonEmpty = %v, %v", ne, err)
	}
}

func TestConnectErrorsHidePassword(t *testing.T) {
	pgtest.Need(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const wrong = "wr0ng@#!%&:/pw"
	for _, raw := range []string{
		srv.URLWithPassword("postgres", wrong),
		"postgres://u:" + wrong + "@127.0.0.1:1/db?connect_timeout=1",
	} {
		in := Describe(ctx, raw, Options{ConnectTimeout: 3 * time.Second})
		if in.Reachable || in.Error == "" {
			t.Fatalf("wrong password accepted: %+v", in)
		}
		out, _ := json.Marshal(in)
		if strings.Contains(string(out), wrong) || strings.Contains(string(out), "wr0ng") {
			t.Errorf("output shows the password: %s", out)
		}
	}
}

func TestUsesTransactionPooler(t *testing.T) {
	for raw, want := range map[string]bool{
		"postgresql://postgres.x:p@aws-0-eu-central-1.pooler.supabase.com:6543/postgres": true,
		"postgresql://postgres.x:p@aws-0-eu-central-1.pooler.supabase.com:5432/postgres": false,
		"postgres://h/db": false,
	} {
		if got := UsesTransactionPooler(raw); got != want {
			t.Errorf("%s: %v", raw, got)
		}
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }
