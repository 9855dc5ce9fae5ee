package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestHealth(t *testing.T) {
	ts, _ := newTestServer(t, nil)
	var b statusBody
	if code, body := do(t, "GET", ts.URL+"/health", "", &b); code != 200 || !b.Status {
		t.Errorf("/health: %d %s", code, body)
	}
	if code, body := do(t, "GET", ts.URL+"/health/db", "", &b); code != 200 || !b.Status {
		t.Errorf("/health/db: %d %s", code, body)
	}
}

func TestHealthUnhealthyKnob(t *testing.T) {
	ts, _ := newTestServer(t, mapEnv{"STANDIN_UNHEALTHY": "1"})
	var b statusBody
	if code, body := do(t, "GET", ts.URL+"/health", "", &b); code != 503 || b.Status {
		t.Errorf("/health: %d %s", code, body)
	}
}

func TestHealthDBFailure(t *testing.T) {
	ts, s := newTestServer(t, nil)
	s.store.Close() // a closed database cannot run SELECT 1
	var b statusBody
	if code, body := do(t, "GET", ts.URL+"/health/db", "", &b); code != 503 || b.Status {
		t.Errorf("/health/db: %d %s", code, body)
	}
}

func TestAPIConfig(t *testing.T) {
	cases := []struct {
		env    mapEnv
		name   string
		google bool
	}{
		{mapEnv{}, "Open WebUI", false},
		{mapEnv{"WEBUI_NAME": "ACME Corp", "GOOGLE_CLIENT_ID": "x.apps.googleusercontent.com"}, "ACME Corp", true},
		{mapEnv{"WEBUI_NAME": `Quote " & <b>`}, `Quote " & <b>`, false},
	}
	for _, c := range cases {
		ts, _ := newTestServer(t, c.env)
		var got map[string]any
		if code, body := do(t, "GET", ts.URL+"/api/config", "", &got); code != 200 {
			t.Fatalf("%d %s", code, body)
		}
		if got["name"] != c.name || got["version"] != "0.0.0-standin" || got["standin"] != true || got["status"] != true {
			t.Errorf("%v: got %v", c.env, got)
		}
		providers := got["oauth"].(map[string]any)["providers"].(map[string]any)
		if g, ok := providers["google"]; ok != c.google || (ok && g != "google") {
			t.Errorf("%v: providers %v", c.env, providers)
		}
	}
}

func TestNotFoundAndRoot(t *testing.T) {
	ts, _ := newTestServer(t, mapEnv{"WEBUI_NAME": "<x>"})
	if code, body := do(t, "GET", ts.URL+"/api/nope", "", nil); code != 404 {
		t.Errorf("404: %d %s", code, body)
	}
	code, body := do(t, "GET", ts.URL+"/", "", nil)
	if code != 200 || !strings.Contains(body, "NOT Open WebUI") || !strings.Contains(body, "&lt;x&gt;") {
		t.Errorf("root: %d %s", code, body)
	}
}

func TestChatsAPI(t *testing.T) {
	ts, _ := newTestServer(t, nil)
	var list struct {
		Count int      `json:"count"`
		IDs   []string `json:"ids"`
	}
	if code, body := do(t, "GET", ts.URL+"/_standin/chats", "", &list); code != 200 || list.Count != 0 || list.IDs == nil {
		t.Fatalf("empty list: %d %s", code, body)
	}
	before := time.Now().Unix()
	var row chatRow
	code, body := do(t, "POST", ts.URL+"/_standin/chats",
		`{"id":"c-2","user_id":"u1","title":"Hello","chat":{"messages":[{"role":"user","content":"hi"}]}}`, &row)
	if code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	if row.ID != "c-2" || row.UserID != "u1" || row.Title != "Hello" || row.CreatedAt < before || row.UpdatedAt != row.CreatedAt ||
		row.CreatedAt > time.Now().Unix() || string(row.Chat) != `{"messages":[{"role":"user","content":"hi"}]}` {
		t.Errorf("created row: %+v", row)
	}
	do(t, "POST", ts.URL+"/_standin/chats", `{"id":"c-1","title":"no chat field"}`, nil)

	var got chatRow
	if code, body := do(t, "GET", ts.URL+"/_standin/chats/c-2", "", &got); code != 200 || !reflect.DeepEqual(got, row) {
		t.Errorf("get: %d %s", code, body)
	}
	if code, body := do(t, "GET", ts.URL+"/_standin/chats/c-1", "", &got); code != 200 || string(got.Chat) != "{}" {
		t.Errorf("get c-1: %d %s", code, body)
	}
	if code, _ := do(t, "GET", ts.URL+"/_standin/chats/missing", "", nil); code != 404 {
		t.Errorf("missing chat: %d", code)
	}
	if code, _ := do(t, "POST", ts.URL+"/_standin/chats", `{"id":"c-2"}`, nil); code != 409 {
		t.Errorf("duplicate: %d", code)
	}
	for _, bad := range []string{`{"title":"no id"}`, `not json`, `{"id":"x","chat":{bad}}`} {
		if code, _ := do(t, "POST", ts.URL+"/_standin/chats", bad, nil); code != 400 {
			t.Errorf("bad body %s: %d", bad, code)
		}
	}
	if code, body := do(t, "GET", ts.URL+"/_standin/chats", "", &list); code != 200 || list.Count != 2 ||
		!reflect.DeepEqual(list.IDs, []string{"c-1", "c-2"}) {
		t.Errorf("list: %d %s", code, body)
	}
	if code, _ := do(t, "DELETE", ts.URL+"/_standin/chats/c-1", "", nil); code != 405 {
		t.Errorf("DELETE: %d, want 405", code)
	}
}

// TestDataSurvivesReopen: a second process on the same DATA_DIR sees the rows.
func TestDataSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	ts, s := newTestServer(t, mapEnv{"DATA_DIR": dir})
	if code, body := do(t, "POST", ts.URL+"/_standin/chats", `{"id":"keep","chat":{"n":1}}`, nil); code != 201 {
		t.Fatalf("%d %s", code, body)
	}
	ts.Close()
	if err := s.store.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "webui.db-wal")); !os.IsNotExist(err) {
		t.Errorf("WAL not checkpointed on close: %v", err)
	}
	for _, f := range []string{"webui.db"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	ts2, _ := newTestServer(t, mapEnv{"DATA_DIR": dir})
	var got chatRow
	if code, body := do(t, "GET", ts2.URL+"/_standin/chats/keep", "", &got); code != 200 || string(got.Chat) != `{"n":1}` {
		t.Errorf("after reopen: %d %s", code, body)
	}
}

func TestSchemaAndPragmas(t *testing.T) {
	dir := t.TempDir()
	st, err := openSQLite(context.Background(), filepath.Join(dir, "webui.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, table := range []string{"user", "auth", "chat", "chat_message", "tag", "folder", "file", "message", "config", "alembic_version"} {
		var n int
		if err := st.db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type='table' AND name=?`, table).Scan(&n); err != nil || n != 1 {
			t.Errorf("table %s: %d %v", table, n, err)
		}
	}
	var mode string
	var busy, temp int
	st.db.QueryRow("PRAGMA journal_mode").Scan(&mode)
	st.db.QueryRow("PRAGMA busy_timeout").Scan(&busy)
	st.db.QueryRow("PRAGMA temp_store").Scan(&temp)
	if mode != "wal" || busy != 5000 || temp != 2 {
		t.Errorf("pragmas: journal_mode=%s busy_timeout=%d temp_store=%d", mode, busy, temp)
	}
	// Open WebUI-shaped rows go in: composite keys, ns timestamps, a DATE.
	for _, q := range []string{
		`INSERT INTO "user" (id, name, email, role, created_at, date_of_birth) VALUES ('u1','A','a@x','admin',1,'2000-01-02')`,
		`INSERT INTO tag (id, name, user_id) VALUES ('t','t','u1'), ('t','t','u2')`,
		`INSERT INTO folder (id, user_id, name, created_at, updated_at) VALUES ('f','u1','F',1,1), ('f','u2','F',1,1)`,
		`INSERT INTO message (id, content, created_at, updated_at) VALUES ('m', 'x', 1700000000000000000, 1700000000000000000)`,
	} {
		if _, err := st.db.Exec(q); err != nil {
			t.Errorf("%s: %v", q, err)
		}
	}
	// Re-running the schema (a restart) is harmless and keeps one alembic row.
	if err := st.migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	var n int
	st.db.QueryRow("SELECT count(*) FROM alembic_version").Scan(&n)
	if n != 1 {
		t.Errorf("alembic_version rows: %d", n)
	}
}

func TestSecretKeyDigest(t *testing.T) {
	ts, _ := newTestServer(t, mapEnv{"WEBUI_SECRET_KEY": "hunter2"})
	sum := sha256.Sum256([]byte("hunter2"))
	var got map[string]string
	code, body := do(t, "GET", ts.URL+"/_standin/secret-key-digest", "", &got)
	if code != 200 || got["sha256"] != hex.EncodeToString(sum[:]) || strings.Contains(body, "hunter2") {
		t.Errorf("%d %s", code, body)
	}
	ts2, _ := newTestServer(t, nil)
	if code, body := do(t, "GET", ts2.URL+"/_standin/secret-key-digest", "", &got); code != 200 || got["sha256"] != "" {
		t.Errorf("unset: %d %s", code, body)
	}
}

func TestEnvKeys(t *testing.T) {
	ts, _ := newTestServer(t, mapEnv{"ZED": "1", "WEBUI_SECRET_KEY": "hunter2", "A_KEY": "x=y"})
	var keys []string
	code, body := do(t, "GET", ts.URL+"/_standin/env-keys", "", &keys)
	if code != 200 || strings.Contains(body, "hunter2") ||
		!reflect.DeepEqual(keys, []string{"A_KEY", "DATA_DIR", "WEBUI_SECRET_KEY", "ZED"}) {
		t.Errorf("%d %s", code, body)
	}
}

func TestStream(t *testing.T) {
	ts, _ := newTestServer(t, nil)
	start := time.Now()
	resp, err := http.Get(ts.URL + "/_standin/stream?n=4&interval=100ms")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("%d %s", resp.StatusCode, ct)
	}
	// Each line must arrive on its own (flushed), not all at the end.
	br := bufio.NewReader(resp.Body)
	var arrivals []time.Duration
	for i := 1; i <= 4; i++ {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if want := "data: " + string(rune('0'+i)) + "\n"; line != want {
			t.Fatalf("line %d: %q, want %q", i, line, want)
		}
		if blank, _ := br.ReadString('\n'); blank != "\n" {
			t.Fatalf("missing blank line after event %d", i)
		}
		arrivals = append(arrivals, time.Since(start))
	}
	if rest, _ := br.ReadString('\n'); rest != "" {
		t.Errorf("trailing data %q", rest)
	}
	if arrivals[0] > arrivals[3]-200*time.Millisecond {
		t.Errorf("events not spread out (not flushed?): %v", arrivals)
	}
	for _, q := range []string{"n=-1", "n=x", "interval=fast", "interval=-1s"} {
		if code, _ := do(t, "GET", ts.URL+"/_standin/stream?"+q, "", nil); code != 400 {
			t.Errorf("%s: %d, want 400", q, code)
		}
	}
}

func TestDataDirMarker(t *testing.T) {
	dir := t.TempDir()
	if err := writeDataDirMarker(dir); err != nil {
		t.Fatal(err)
	}
	b1, _ := os.ReadFile(filepath.Join(dir, ".webui-standin"))
	if err := writeDataDirMarker(dir); err != nil { // idempotent
		t.Fatal(err)
	}
	b2, _ := os.ReadFile(filepath.Join(dir, ".webui-standin"))
	if len(b1) == 0 || string(b1) != string(b2) {
		t.Errorf("marker %q then %q", b1, b2)
	}
	if fi, err := os.Stat(filepath.Join(dir, "uploads")); err != nil || !fi.IsDir() {
		t.Errorf("uploads: %v", err)
	}
}
