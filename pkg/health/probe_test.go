package health

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
)

func server(t *testing.T, h http.HandlerFunc) int {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	port, _ := strconv.Atoi(u.Port())
	return port
}

func TestProbeGatesOnReadyAndFallsBackOn404(t *testing.T) {
	ok := func(w http.ResponseWriter) { fmt.Fprint(w, `{"status": true}`) }
	cases := []struct {
		name     string
		path     string
		handler  http.HandlerFunc
		wantOK   bool
		wantPath string
		detail   string
	}{
		{"ready answers", "", func(w http.ResponseWriter, r *http.Request) { ok(w) }, true, ReadyPath, ""},
		{"database down: /ready 503 although /health is true", "", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == ReadyPath {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			ok(w)
		}, false, ReadyPath, "HTTP 503"},
		{"old image without /ready", "", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == ReadyPath {
				http.NotFound(w, r)
				return
			}
			ok(w)
		}, true, LegacyPath, ""},
		{"configured path is used alone", "/custom", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/custom" {
				http.NotFound(w, r)
				return
			}
			ok(w)
		}, true, "/custom", ""},
		{"status false", "", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"status": false}`) }, false, ReadyPath, `unexpected body "{\"status\": false}"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			port := server(t, c.handler)
			got := Prober{HTTP: http.DefaultClient, Host: "127.0.0.1"}.Probe(context.Background(), "127.0.0.1", port, c.path)
			if got.OK != c.wantOK || got.Path != c.wantPath || got.Detail != c.detail {
				t.Fatalf("got %+v, want ok=%v path=%s detail=%q", got, c.wantOK, c.wantPath, c.detail)
			}
		})
	}
}

func TestFailureNotesBeforeLogs(t *testing.T) {
	f := &Failure{Msg: "container x exited (code 3)", Logs: []string{"a", "b"}}
	got := f.WithNote("rolled back").Error()
	want := "container x exited (code 3); rolled back\n    last log lines:\n      a\n      b"
	if got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	if f.Error() == got {
		t.Fatal("WithNote changed the original")
	}
}
