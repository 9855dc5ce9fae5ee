package migrate

import (
	"testing"

	"github.com/quantabase/fleetctl/pkg/openwebui"
	"github.com/quantabase/fleetctl/pkg/pg/pgtest"
)

// The rows the schema step seeds (config, an admin user referenced by its
// auth and an API key, a key with quotes and commas) are found, journaled
// as JSON and deleted exactly, children first, in one transaction; a table
// that held rows before the step keeps them, and a row nobody seeded stops
// the deletion.
func TestSeededRowsDeletedExactly(t *testing.T) {
	ctx := ctxT(t)
	db := pgtest.NewDatabase(t, srv)
	ddl, err := openwebui.PostgresSchema(openwebui.Version, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Psql(ctx, db, ddl); err != nil {
		t.Fatal(err)
	}
	// Before the step: tag held a row (the operator's --force case).
	if _, err := srv.Psql(ctx, db, `INSERT INTO tag (id, user_id) VALUES ('kept', 'someone')`); err != nil {
		t.Fatal(err)
	}
	seed := `INSERT INTO alembic_version VALUES ('` + openwebui.Head + `');
		INSERT INTO config (key, value) VALUES ('ui.name', '"x"'), ('odd "key", (1)', '{}');
		INSERT INTO "user" (id, email) VALUES ('admin-1', 'a@example.org');
		INSERT INTO auth (id, email, password, active) VALUES ('admin-1', 'a@example.org', 'hash', true);
		INSERT INTO api_key (id, user_id, key, created_at, updated_at) VALUES ('k1', 'admin-1', 'sk-1', 1, 1);`
	if _, err := srv.Psql(ctx, db, seed); err != nil {
		t.Fatal(err)
	}
	s, err := FindSeeded(ctx, srv.URL(db), "", []string{"tag"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Count() != 5 {
		t.Fatalf("seeded rows: %d (%s)", s.Count(), s.JSON())
	}
	back, err := ParseSeeded(s.JSON())
	if err != nil || back.Count() != 5 {
		t.Fatalf("round trip: %v %v", back, err)
	}
	// A row that appears after the record is not the step's: refused, nothing deleted.
	if _, err := srv.Psql(ctx, db, `INSERT INTO config (key, value) VALUES ('later', '1')`); err != nil {
		t.Fatal(err)
	}
	if err := Undo(ctx, srv.URL(db), "", nil, back); err == nil {
		t.Fatal("undo deleted around a row nobody seeded")
	}
	if n, _ := srv.Psql(ctx, db, `SELECT count(*) FROM "user"`); n != "1" {
		t.Fatalf("a failed undo deleted rows: user %s", n)
	}
	if _, err := srv.Psql(ctx, db, `DELETE FROM config WHERE key = 'later'`); err != nil {
		t.Fatal(err)
	}
	if err := Undo(ctx, srv.URL(db), "", nil, back); err != nil {
		t.Fatal(err)
	}
	for table, want := range map[string]string{"config": "0", `"user"`: "0", "auth": "0", "api_key": "0", "tag": "1", "alembic_version": "1"} {
		if n, _ := srv.Psql(ctx, db, `SELECT count(*) FROM `+table); n != want {
			t.Errorf("%s: %s rows, want %s", table, n, want)
		}
	}
}
