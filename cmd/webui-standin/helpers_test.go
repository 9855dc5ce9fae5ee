package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// mapEnv is a fake process environment.
type mapEnv map[string]string

func (m mapEnv) LookupEnv(k string) (string, bool) { v, ok := m[k]; return v, ok }
func (m mapEnv) Environ() []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// newTestServer runs the handlers on a real SQLite database in a temp
// DATA_DIR (or the DATABASE_URL given), started (no start delay). Without a
// secret key in e the key file goes to a temp dir too.
func newTestServer(t *testing.T, e mapEnv) (*httptest.Server, *server) {
	t.Helper()
	if e == nil {
		e = mapEnv{}
	}
	if _, ok := e["DATA_DIR"]; !ok {
		e["DATA_DIR"] = t.TempDir()
	}
	tempKeyFile(t, e)
	s, _ := bootEnv(t, e)
	s.started.Store(true)
	ts := httptest.NewServer(s)
	t.Cleanup(func() {
		s.shutdown()
		ts.Close()
		if err := s.store.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return ts, s
}

// bootEnv runs the start-up work for e (no listener); the caller closes
// the store. notes is the start-up line's summary.
func bootEnv(t *testing.T, e mapEnv) (s *server, notes string) {
	t.Helper()
	cfg, err := loadConfig(e.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	s, notes, err = boot(context.Background(), cfg, e.Environ)
	if err != nil {
		t.Fatal(err)
	}
	return s, notes
}

// tempKeyFile points WEBUI_SECRET_KEY_FILE into a temp dir unless e sets a
// key or a key file: tests never write /app/backend.
func tempKeyFile(t *testing.T, e mapEnv) {
	t.Helper()
	_, k1 := e["WEBUI_SECRET_KEY"]
	_, k2 := e["WEBUI_JWT_SECRET_KEY"]
	_, f := e["WEBUI_SECRET_KEY_FILE"]
	if !k1 && !k2 && !f {
		e["WEBUI_SECRET_KEY_FILE"] = filepath.Join(t.TempDir(), ".webui_secret_key")
	}
}

// do sends a request and returns the status and body; it decodes JSON into out if non-nil.
func do(t *testing.T, method, url, body string, out any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decode %q: %v", method, url, b, err)
		}
	}
	return resp.StatusCode, string(b)
}
