package replicate

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// The canary through the admin API of a running leader: reset, rows
// written into its SQLite reach sync_metadata_canary, a conflict there is
// decided by its table's own strategy (not the fleet's), and it stays apart
// from the clients in /health and the client metrics.
func TestCanaryThroughTheAdminAPI(t *testing.T) {
	tg := targets(t)["direct"](t)
	app := newApp(t)
	app.chat(t, "c1", "x", 1)
	n := newNode(t, tg, "node-a", []Client{{Name: "c", SQLitePath: app.path}}, func(c *Config) {
		c.Canary = filepath.Join(t.TempDir(), "canary.db")
		c.Interval, c.CacheTTL = 50*time.Millisecond, time.Hour // capped at CacheTTL
		c.Strategy = Manual                                     // the canary's tables keep their own
	})
	ctx, cancel := context.WithCancel(ctxT(t))
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	lead(t, n)
	ts := httptest.NewServer(n.Handler())
	defer ts.Close()
	post := func(path string, body any) (int, string) {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", ts.URL+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+n.cfg.AdminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(out)
	}
	eventually := func(what, q, want string) {
		t.Helper()
		for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
			got, _ := srv.Psql(ctxT(t), tg.db, q)
			if got == want {
				return
			}
			if time.Since(start) > time.Minute {
				t.Fatalf("%s: %q, want %q", what, got, want)
			}
		}
	}
	table := CanaryTable(SourceWins)
	if code, body := post("/api/v1/canary", CanaryOp{Op: "reset"}); code != 200 {
		t.Fatalf("reset: %d %s", code, body)
	}
	if code, body := post("/api/v1/canary", CanaryOp{Op: "write", Rows: []CanaryRow{
		{Table: table, ID: "r1", V: "first", UpdatedAt: 100}, {Table: table, ID: "r0", V: "advance", UpdatedAt: 150}}}); code != 200 {
		t.Fatalf("write: %d %s", code, body)
	}
	eventually("canary rows", `SELECT string_agg(id || '=' || v, ',' ORDER BY id) FROM sync_metadata_canary.`+table, "r0=advance,r1=first")
	tg.query(t, `UPDATE sync_metadata_canary.`+table+` SET v = 'target', updated_at = 200 WHERE id = 'r1'`)
	post("/api/v1/canary", CanaryOp{Op: "write", Rows: []CanaryRow{{Table: table, ID: "r1", V: "source", UpdatedAt: 300}}})
	eventually("source_wins on the canary", `SELECT v FROM sync_metadata_canary.`+table+` WHERE id = 'r1'`, "source")
	eventually("its conflict", `SELECT client || ' ' || strategy || ' ' || outcome FROM sync_metadata.conflicts`, "_canary source_wins source")

	for path, op := range map[string]CanaryOp{"not a table": {Op: "write", Rows: []CanaryRow{{Table: "chat", ID: "x"}}},
		"not the shape table": {Op: "add-column", Table: table}, "unknown": {Op: "drop"}} {
		if code, _ := post("/api/v1/canary", op); code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", path, code)
		}
	}
	h := n.Health()
	if len(h.Clients) != 1 || h.Clients[0].Name != "c" || h.Canary == nil || h.Canary.ShapesAgeSeconds == nil || h.CacheTTLSeconds != CacheTTL.Seconds() {
		t.Errorf("health %+v", h)
	}
	resp, err := http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"sync_conflicts_detected_total 0", "sync_rows_synced_total 1\n"} {
		if !strings.Contains(string(m), want) {
			t.Errorf("metrics lack %q (the canary is counted as a client)", want)
		}
	}
	if strings.Contains(string(m), CanaryClient) {
		t.Error("metrics name the canary")
	}
}

// The canary's passes are not the clients' passes in the metrics: a
// failing canary must not fire the clients' sync-failure alert.
func TestCanaryPassesNotCounted(t *testing.T) {
	tg := targets(t)["direct"](t)
	app := newApp(t)
	n := newNode(t, tg, "node-a", []Client{{Name: "c", SQLitePath: app.path}}, func(c *Config) {
		c.Canary = filepath.Join(t.TempDir(), "canary.db")
	})
	if err := pass(t, n, true); err != nil {
		t.Fatal(err)
	}
	if c := tg.count(t, `SELECT count(*) FROM sync_metadata.jobs WHERE client = '`+CanaryClient+`'`); c != 1 {
		t.Fatalf("%d canary jobs, want 1 (the canary passed)", c)
	}
	var ops float64
	for _, s := range []string{"ok", "failed", "fenced"} {
		ops += testutil.ToFloat64(n.m.ops.WithLabelValues(s))
	}
	if ops != 1 {
		t.Errorf("sync_operations_total sums to %v, want 1 (the client's pass only)", ops)
	}
	ts := httptest.NewServer(n.Handler())
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(m), "sync_operation_duration_seconds_count 1\n") {
		t.Error("sync_operation_duration_seconds counts the canary's pass")
	}
}
