package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
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

// newTestServer runs the handlers on a real SQLite database in a temp DATA_DIR.
func newTestServer(t *testing.T, e mapEnv) (*httptest.Server, *server) {
	t.Helper()
	if e == nil {
		e = mapEnv{}
	}
	if _, ok := e["DATA_DIR"]; !ok {
		e["DATA_DIR"] = t.TempDir()
	}
	cfg, err := loadConfig(e.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	st, err := openStore(context.Background(), cfg.db)
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(cfg, st, e.Environ)
	ts := httptest.NewServer(s)
	t.Cleanup(func() {
		s.shutdown()
		ts.Close()
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return ts, s
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
