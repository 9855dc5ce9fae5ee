package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"io"
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
	if code, body := do(t, "GET", ts.URL+"/ready", "", nil); code != 503 {
		t.Errorf("/ready: %d %s", code, body)
	}
}

// With the database gone, /health still says true (it says nothing about
// the database), /ready answers 503 "Database not ready" and /health/db
// fails like the app: an unhandled 500.
func TestDatabaseGone(t *testing.T) {
	for name, e := range map[string]mapEnv{"closed": nil, "STANDIN_DB_DOWN": {"STANDIN_DB_DOWN": "1"}} {
		t.Run(name, func(t *testing.T) {
			ts, s := newTestServer(t, e)
			if e == nil {
				s.store.Close() // a closed database cannot run SELECT 1
			}
			expectDBGone(t, ts.URL)
		})
	}
}

func expectDBGone(t *testing.T, base string) {
	t.Helper()
	var b statusBody
	if code, body := do(t, "GET", base+"/health", "", &b); code != 200 || !b.Status {
		t.Errorf("/health: %d %s", code, body)
	}
	if code, body := do(t, "GET", base+"/ready", "", nil); code != 503 || body != `{"detail":"Database not ready"}`+"\n" {
		t.Errorf("/ready: %d %q", code, body)
	}
	resp, err := http.Get(base + "/health/db")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 500 || string(raw) != "Internal Server Error" || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("/health/db: %d %q %s", resp.StatusCode, raw, resp.Header.Get("Content-Type"))
	}
}

func TestReady(t *testing.T) {
	ts, _ := newTestServer(t, nil)
	if code, body := do(t, "GET", ts.URL+"/ready", "", nil); code != 200 || body != `{"status":true}`+"\n" {
		t.Errorf("/ready: %d %q", code, body)
	}
}

// The name shows as the app shows it (env.py: WEBUI_NAME + " (Open WebUI)"
// unless it is exactly "Open WebUI"); Google is listed only with both its
// client id and secret.
func TestAPIConfig(t *testing.T) {
	const id, secret = "x.apps.googleusercontent.com", "GOCSPX-distinctive-7f3a"
	cases := []struct {
		env    mapEnv
		name   string
		google bool
	}{
		{mapEnv{}, "Open WebUI", false},
		{mapEnv{"WEBUI_NAME": "Open WebUI"}, "Open WebUI", false},
		{mapEnv{"WEBUI_NAME": "open webui"}, "open webui (Open WebUI)", false},
		{mapEnv{"WEBUI_NAME": ""}, " (Open WebUI)", false},
		{mapEnv{"WEBUI_NAME": "ACME Corp", "GOOGLE_CLIENT_ID": id, "GOOGLE_CLIENT_SECRET": secret}, "ACME Corp (Open WebUI)", true},
		{mapEnv{"WEBUI_NAME": "ACME Corp", "GOOGLE_CLIENT_ID": id}, "ACME Corp (Open WebUI)", false},
		{mapEnv{"GOOGLE_CLIENT_SECRET": secret}, "Open WebUI", false},
		{mapEnv{"WEBUI_NAME": `Quote " & <b>`}, `Quote " & <b> (Open WebUI)`, false},
	}
	for _, c := range cases {
		ts, _ := newTestServer(t, c.env)
		var got map[string]any
		code, body := do(t, "GET", ts.URL+"/api/config", "", &got)
		if code != 200 {
			t.Fatalf("%d %s", code, body)
		}
		if got["name"] != c.name || got["version"] != "0.0.0-standin" || got["standin"] != true || got["status"] != true {
			t.Errorf("%v: got %v", c.env, got)
		}
		providers := got["oauth"].(map[string]any)["providers"].(map[string]any)
		if g, ok := providers["google"]; ok != c.google || (ok && g != "google") {
			t.Errorf("%v: providers %v", c.env, providers)
		}
		if strings.Contains(body, secret) {
			t.Errorf("/api/config shows the client secret: %s", body)
		}
	}
}

func TestNotFoundAndRoot(t *testing.T) {
	ts, _ := newTestServer(t, mapEnv{"WEBUI_NAME": "<x>"})
	if code, body := do(t, "GET", ts.URL+"/api/nope", "", nil); code != 404 {
		t.Errorf("404: %d %s", code, body)
	}
	code, body := do(t, "GET", ts.URL+"/", "", nil)
	if code != 200 || !strings.Contains(body, "NOT Open WebUI") || !strings.Contains(body, "<title>&lt;x&gt; (Open WebUI)</title>") {
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

func TestSecretKeyDigest(t *testing.T) {
	for _, k := range []string{"WEBUI_SECRET_KEY", "WEBUI_JWT_SECRET_KEY"} {
		ts, _ := newTestServer(t, mapEnv{k: "hunter2"})
		if got := secretDigest(t, ts.URL); got != sha256hex("hunter2") {
			t.Errorf("%s: digest %s", k, got)
		}
	}
}

func secretDigest(t *testing.T, base string) string {
	t.Helper()
	var got map[string]string
	if code, body := do(t, "GET", base+"/_standin/secret-key-digest", "", &got); code != 200 {
		t.Fatalf("digest: %d %s", code, body)
	}
	return got["sha256"]
}

func sha256hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
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
