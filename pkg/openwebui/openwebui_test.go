package openwebui

import (
	"database/sql"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
)

func TestSQLiteSchemaBuildsTheRealTables(t *testing.T) {
	stmts, err := SQLiteSchema(Version)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+t.TempDir()+"/webui.db")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%v\n%s", err, s)
		}
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type='table'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	tables, err := Tables(Version)
	if err != nil {
		t.Fatal(err)
	}
	if n != 43 || len(tables) != 43 {
		t.Fatalf("tables: sqlite_master has %d, Tables lists %d; want 43", n, len(tables))
	}
}

func TestPostgresSchemaHasNoMetaCommands(t *testing.T) {
	s, err := PostgresSchema(Version, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{`\restrict`, `\unrestrict`, "set_config('search_path'"} {
		if strings.Contains(s, bad) {
			t.Errorf("script still holds %q", bad)
		}
	}
	if got := strings.Count(s, "CREATE TABLE public."); got != 43 {
		t.Errorf("CREATE TABLE public.: %d, want 43", got)
	}
	other, _ := PostgresSchema(Version, "tenant_a")
	if strings.Contains(other, "public.") || !strings.Contains(other, `CREATE TABLE "tenant_a".chat`) {
		t.Error("schema name not applied")
	}
}
