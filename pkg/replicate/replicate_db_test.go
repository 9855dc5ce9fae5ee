package replicate

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

func TestReplication(t *testing.T) {
	for name, mk := range targets(t) {
		t.Run(name, func(t *testing.T) {
			tg := mk(t)
			app := newApp(t)
			clients := []Client{{Name: "acme-corp", SQLitePath: app.path}}
			n := newNode(t, tg, "node-a", clients)

			app.chat(t, "c1", "hello\x00world", 100)
			app.chat(t, "c2", "second", 101)
			app.exec(t, `INSERT INTO "user" VALUES ('u1', 'Ann', 'ann@x', 5)`)
			app.exec(t, `INSERT INTO tag VALUES ('t1', 'u1', 'work'), ('t2', 'u1', 'home')`)
			app.exec(t, `INSERT INTO nokey VALUES ('x', 'y')`)
			if err := pass(t, n, false); err != nil {
				t.Fatal(err)
			}
			if got := tg.query(t, `SELECT id || '|' || title || '|' || archived || '|' || (chat->'m'->>1) FROM client_acme_corp.chat ORDER BY id`); got != "c1|helloworld|false|2\nc2|second|false|2" {
				t.Errorf("chat after the first pass:\n%s", got)
			}
			if n := tg.count(t, `SELECT count(*) FROM client_acme_corp.tag`); n != 0 {
				t.Errorf("a table without updated_at copied on the fast pass: %d", n)
			}
			// The full pass brings tables without updated_at.
			if err := pass(t, n, true); err != nil {
				t.Fatal(err)
			}
			if got := tg.query(t, `SELECT string_agg(id || '/' || name, ',' ORDER BY id) FROM client_acme_corp.tag`); got != "t1/work,t2/home" {
				t.Errorf("tag: %s", got)
			}
			if got := tg.query(t, `SELECT name FROM client_acme_corp."user"`); got != "Ann" {
				t.Errorf("user: %s", got)
			}
			// Updates, inserts and deletes propagate.
			app.chat(t, "c2", "second, edited", 102)
			app.chat(t, "c3", "third", 102)
			app.exec(t, `DELETE FROM chat WHERE id = 'c1'`)
			app.exec(t, `DELETE FROM tag WHERE id = 't2'`)
			app.exec(t, `UPDATE tag SET name = 'office' WHERE id = 't1'`)
			if err := pass(t, n, false); err != nil {
				t.Fatal(err)
			}
			if got := tg.query(t, `SELECT string_agg(id || '=' || title, ',' ORDER BY id) FROM client_acme_corp.chat`); got != "c1=helloworld,c2=second, edited,c3=third" {
				t.Errorf("after the fast pass: %s", got)
			}
			if err := pass(t, n, true); err != nil {
				t.Fatal(err)
			}
			if got := tg.query(t, `SELECT string_agg(id || '=' || title, ',' ORDER BY id) FROM client_acme_corp.chat`); got != "c2=second, edited,c3=third" {
				t.Errorf("after the full pass: %s", got)
			}
			if got := tg.query(t, `SELECT string_agg(id || '/' || name, ',' ORDER BY id) FROM client_acme_corp.tag`); got != "t1/office" {
				t.Errorf("tag: %s", got)
			}
			if got := tg.query(t, `SELECT watermark FROM sync_metadata.watermarks WHERE client = 'acme-corp' AND tbl = 'chat'`); got != "102" {
				t.Errorf("watermark %s", got)
			}
			if n := tg.count(t, `SELECT count(*) FROM sync_metadata.conflicts`); n != 0 {
				t.Errorf("%d conflicts without any target change", n)
			}

			// A restarted node resumes from PostgreSQL's watermarks: no full resync.
			n.Close()
			n2 := newNode(t, tg, "node-a", clients)
			if err := pass(t, n2, false); err != nil {
				t.Fatal(err)
			}
			if got := tg.query(t, `SELECT rows_written FROM sync_metadata.jobs ORDER BY id DESC LIMIT 1`); got != "0" {
				t.Errorf("restart rewrote %s rows", got)
			}
			st := n2.Clients()
			if len(st) != 1 || st[0].LastSync == nil || st[0].LastError != "" {
				t.Errorf("status %+v", st)
			}
			if n := tg.count(t, `SELECT count(*) FROM sync_metadata.v_active_sync_jobs`); n != 0 {
				t.Errorf("%d jobs still running", n)
			}
		})
	}
}

// The node reads the live WAL database while the application writes, with
// neither side failing or waiting on the other beyond the busy timeout.
func TestSyncUnderWrites(t *testing.T) {
	tg := targets(t)["direct"](t)
	app := newApp(t)
	n := newNode(t, tg, "node-a", []Client{{Name: "busy", SQLitePath: app.path}})
	var written atomic.Int64
	var werr error
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := app.db.Exec(`INSERT INTO chat VALUES (?, 'u', 't', '{}', 0, 1, ?)`, fmt.Sprint("w", i), 1000+i); err != nil {
				werr = err
				return
			}
			written.Add(1)
		}
	}()
	for i := 0; i < 15; i++ {
		if err := pass(t, n, i%5 == 4); err != nil {
			close(stop)
			wg.Wait()
			t.Fatalf("pass %d: %v", i, err)
		}
	}
	close(stop)
	wg.Wait()
	if werr != nil {
		t.Fatalf("the application's writes failed: %v", werr)
	}
	if err := pass(t, n, false); err != nil {
		t.Fatal(err)
	}
	if got := tg.count(t, `SELECT count(*) FROM client_busy.chat`); int64(got) != written.Load() || got == 0 {
		t.Errorf("%d rows in the target, %d written", got, written.Load())
	}
}

func TestConflictStrategies(t *testing.T) {
	for name, mk := range targets(t) {
		t.Run(name, func(t *testing.T) {
			tg := mk(t)
			for _, s := range Strategies {
				t.Run(string(s), func(t *testing.T) {
					app := newApp(t)
					client := strings.ReplaceAll(string(s), "_", "-")
					n := newNode(t, tg, "node-"+client, []Client{{Name: client, SQLitePath: app.path}},
						func(c *Config) { c.TableStrategies = map[string]Strategy{"chat": s} })
					schema := ClientSchema(client)
					app.chat(t, "old", "v1", 100) // the source edit will be older than the target's
					app.chat(t, "new", "v1", 100) // the source edit will be newer
					if err := pass(t, n, false); err != nil {
						t.Fatal(err)
					}
					tg.query(t, `UPDATE `+schema+`.chat SET title = 'target', updated_at = 150 WHERE id = 'old'`)
					tg.query(t, `UPDATE `+schema+`.chat SET title = 'target', updated_at = 150 WHERE id = 'new'`)
					app.chat(t, "old", "source", 120)
					app.chat(t, "new", "source", 200)
					if err := pass(t, n, false); err != nil {
						t.Fatal(err)
					}
					want := map[Strategy]string{
						SourceWins: "new=source,old=source", TargetWins: "new=target,old=target",
						NewestWins: "new=source,old=target", OldestWins: "new=target,old=source",
						Manual: "new=target,old=target",
					}[s]
					if got := tg.query(t, `SELECT string_agg(id || '=' || title, ',' ORDER BY id) FROM `+schema+`.chat`); got != want {
						t.Errorf("rows %s, want %s", got, want)
					}
					conf := tg.query(t, `SELECT string_agg(pk || ' ' || (source_row->>'title') || '/' || (target_row->>'title') || ' ' || strategy || ' ' || (resolved_at IS NULL), ',' ORDER BY pk)
						FROM sync_metadata.conflicts WHERE client = '`+client+`'`)
					open := s == Manual
					if wantC := fmt.Sprintf(`["new"] source/target %s %v,["old"] source/target %s %v`, s, open, s, open); conf != wantC {
						t.Errorf("conflicts %s, want %s", conf, wantC)
					}
					// A second pass finds nothing new (the decision stands).
					if err := pass(t, n, true); err != nil {
						t.Fatal(err)
					}
					if c := tg.count(t, `SELECT count(*) FROM sync_metadata.conflicts WHERE client = '`+client+`'`); c != 2 {
						t.Errorf("%d conflicts after a second pass", c)
					}
					if got := tg.query(t, `SELECT string_agg(id || '=' || title, ',' ORDER BY id) FROM `+schema+`.chat`); got != want {
						t.Errorf("rows after a second pass %s, want %s", got, want)
					}
					if s == Manual {
						resolveOverHTTP(t, n, tg, schema)
					}
				})
			}
		})
	}
}

func resolveOverHTTP(t *testing.T, n *Node, tg target, schema string) {
	ts := httptest.NewServer(n.Handler())
	defer ts.Close()
	call := func(method, path, token, body string) (int, string) {
		req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tok := range []string{"", "wrong"} {
		if code, _ := call("GET", "/api/v1/conflicts", tok, ""); code != http.StatusUnauthorized {
			t.Errorf("token %q: %d", tok, code)
		}
	}
	code, body := call("GET", "/api/v1/conflicts?open=true", n.cfg.AdminToken, "")
	var cs []Conflict
	if err := json.Unmarshal([]byte(body), &cs); code != 200 || err != nil || len(cs) != 2 {
		t.Fatalf("list: %d %v %s", code, err, body)
	}
	lead(t, n)
	for _, c := range cs {
		res := "target"
		var pk []string
		if json.Unmarshal(c.PK, &pk); len(pk) == 1 && pk[0] == "new" {
			res = "source"
		}
		if code, body := call("POST", fmt.Sprintf("/api/v1/conflicts/%d/resolve", c.ID), n.cfg.AdminToken, `{"resolution":"`+res+`"}`); code != 200 {
			t.Fatalf("resolve: %d %s", code, body)
		}
	}
	if got := tg.query(t, `SELECT string_agg(id || '=' || title, ',' ORDER BY id) FROM `+schema+`.chat`); got != "new=source,old=target" {
		t.Errorf("after resolving: %s", got)
	}
	if c := tg.count(t, `SELECT count(*) FROM sync_metadata.v_recent_conflicts WHERE open`); c != 0 {
		t.Errorf("%d open after resolving", c)
	}
}

func TestHTTPRevealsNoSecret(t *testing.T) {
	tg := targets(t)["direct"](t)
	app := newApp(t)
	n := newNode(t, tg, "node-a", []Client{{Name: "c", SQLitePath: app.path}})
	app.chat(t, "c1", "x", 1)
	if err := pass(t, n, false); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(n.Handler())
	defer ts.Close()
	for _, p := range []string{"/health", "/metrics"} {
		resp, err := http.Get(ts.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
		for _, secret := range []string{"pgtest-secret", n.cfg.AdminToken} {
			if strings.Contains(string(b), secret) {
				t.Errorf("%s shows a secret", p)
			}
		}
		if p == "/health" {
			var h Health
			if err := json.Unmarshal(b, &h); err != nil || h.NodeID != "node-a" || h.Role != Leader || h.Term < 1 || h.LeaseExpires == nil || len(h.Clients) != 1 {
				t.Errorf("health %s (%v)", b, err)
			}
			continue
		}
		for _, m := range []string{"sync_is_leader 1", "sync_leader_election_attempts_total", "sync_leader_election_successes_total 1",
			"sync_leader_lease_expires_timestamp", "sync_heartbeat_failures_total 0", "sync_container_uptime_seconds",
			`sync_operations_total{status="ok"} 1`, "sync_operation_duration_seconds_bucket", "sync_rows_synced_total 1",
			"sync_conflicts_detected_total 0", `sync_conflicts_resolved_total{strategy="source_wins"} 0`,
			"sync_failover_events_total 0", `sync_replication_lag_seconds{client="c"}`, "sync_leader_term"} {
			if !strings.Contains(string(b), m) {
				t.Errorf("metrics lack %q", m)
			}
		}
	}
}
