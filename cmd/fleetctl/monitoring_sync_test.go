package main

import (
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quantabase/fleetctl/pkg/pg/pgtest"
)

// syncNodeProc is one `fleetctl sync-node` process run by a test.
type syncNodeProc struct {
	name string
	port int
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan struct{}
}

func startSyncNodeProc(t *testing.T, name string, port int, targetURL, client string) *syncNodeProc {
	t.Helper()
	n := &syncNodeProc{name: name, port: port, logs: &syncBuffer{}, done: make(chan struct{})}
	n.cmd = exec.Command(fleetctlBin(t), "sync-node", "--node-id", name, "--listen", fmt.Sprintf("127.0.0.1:%d", port),
		"--client", client, "--lease", "3s", "--renew", "500ms", "--interval", "200ms", "--full-interval", "2s")
	n.cmd.Env = append(os.Environ(), envSyncURL+"="+targetURL)
	n.cmd.Stdout, n.cmd.Stderr = n.logs, n.logs
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = n.cmd.Wait(); close(n.done) }()
	t.Cleanup(func() {
		n.kill(syscall.SIGTERM)
		if t.Failed() {
			t.Logf("sync node %s logs:\n%s", name, n.logs.String())
		}
	})
	return n
}

// kill sends sig and waits (bounded) for the process to exit.
func (n *syncNodeProc) kill(sig syscall.Signal) {
	select {
	case <-n.done:
		return
	default:
	}
	_ = n.cmd.Process.Signal(sig)
	select {
	case <-n.done:
	case <-time.After(30 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.done
	}
}

// TestPrometheusScrapesWatchAndSyncFailover: a real Prometheus, configured by
// `monitoring render` from a fleet.yaml whose sync: section names two running
// `fleetctl sync-node` processes (against a real PostgreSQL), scrapes them and
// a running watch daemon: exactly one node leads, the sync alert rules are
// loaded and silent, and after the leader is killed (SIGKILL: its lease is not
// released) the other node leads and counts the takeover in
// sync_failover_events_total.
func TestPrometheusScrapesWatchAndSyncFailover(t *testing.T) {
	f := newTestFleet(t, 1)
	cs := f.clients()
	f.write(cs, watchNaming)
	w := startWatch(t, f)
	srv, db := startPG(t)

	// The replicated client's SQLite database.
	dbPath := filepath.Join(f.dir, "webui.db")
	app, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=journal_mode(wal)&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	if _, err := app.Exec(`CREATE TABLE chat (id TEXT PRIMARY KEY, title TEXT, updated_at BIGINT)`); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Exec(`INSERT INTO chat VALUES ('r1', 'x', 1)`); err != nil {
		t.Fatal(err)
	}

	ports := freePorts(t, 2)
	prefix := f.name + "-sync"
	names := []string{prefix + "-node-a", prefix + "-node-b"}
	nodes := map[string]*syncNodeProc{}
	for i, name := range names {
		nodes[name] = startSyncNodeProc(t, name, ports[i], srv.URL(db), cs[0].name+"="+dbPath)
	}

	// fleet.yaml beside the watched one (watch would run the sync section's
	// containers): its sync: section names the two nodes' ports.
	out := filepath.Join(f.dir, "monitoring")
	spec, _ := os.ReadFile(f.file)
	withMon := string(spec) + fmt.Sprintf(`sync:
  target:
    url: ${env:IT_SYNC_URL}
  clients: [%s]
  interval: 200ms
  fullInterval: 2s
  lease: 3s
  renew: 500ms
  bindAddress: 127.0.0.1
  nodes:
    - name: %s
      port: %d
    - name: %s
      port: %d
monitoring:
  scrapeInterval: 1s
  evaluationInterval: 1s
  targets:
    watch: [127.0.0.1:%d]
`, cs[0].name, names[0], ports[0], names[1], ports[1], w.port)
	monFile := filepath.Join(f.dir, "fleet-mon.yaml") // beside fleet.yaml: the seed reference is relative
	if err := os.WriteFile(monFile, []byte(withMon), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("IT_SYNC_URL", srv.URL(db))
	if r := f.run("monitoring", "render", "-f", monFile, "--out", out); r.code != 0 {
		t.Fatalf("render: %s", r.all())
	}
	promYML := filepath.Join(out, "prometheus", "prometheus.yml")
	rendered, _ := os.ReadFile(promYML)
	for i, name := range names {
		if !strings.Contains(string(rendered), fmt.Sprintf("127.0.0.1:%d", ports[i])) || !strings.Contains(string(rendered), name) {
			t.Fatalf("prometheus.yml does not scrape sync node %s on port %d:\n%s", name, ports[i], rendered)
		}
	}
	p := startPrometheus(t, promYML)

	waitUntil(t, "the watch target up", 60*time.Second, func() bool {
		return p.query(`up{job="fleetctl-watch"}`)[""] == "1"
	})
	waitUntil(t, "both sync nodes scraped", 60*time.Second, func() bool {
		up := p.queryBy(`up{job="fleetctl-sync"}`, "node")
		return up[names[0]] == "1" && up[names[1]] == "1"
	})
	waitUntil(t, "sum(sync_is_leader) == 1", 60*time.Second, func() bool {
		return p.query(`sum(sync_is_leader)`)[""] == "1"
	})
	leaders := p.queryBy(`sync_is_leader == 1`, "node")
	if len(leaders) != 1 {
		t.Fatalf("leaders = %v, want one", leaders)
	}
	var first, second string
	for n := range leaders {
		first = n
	}
	for _, n := range names {
		if n != first {
			second = n
		}
	}
	if nodes[first] == nil {
		t.Fatalf("the leader's node label %q is none of %v", first, names)
	}
	if v := p.query(fmt.Sprintf(`sum by (cluster) (sync_is_leader{cluster=%q})`, f.name))[""]; v != "1" {
		t.Errorf("sum of sync_is_leader for cluster %s = %q, want 1", f.name, v)
	}
	before, _ := strconv.ParseFloat(p.queryBy(`sync_failover_events_total`, "node")[second], 64)

	// The rendered rules are loaded; with one leader the sync alerts are silent.
	waitUntil(t, "the sync rules loaded, healthy and inactive", 30*time.Second, func() bool {
		states := p.ruleStates()
		for _, name := range []string{"SyncNoLeader", "SyncSplitBrain", "FleetctlWatchDown"} {
			if states[name] != "ok/inactive" {
				return false
			}
		}
		return true
	})

	// Kill the leader: the other node takes the lease over once it expires.
	nodes[first].kill(syscall.SIGKILL)
	waitUntil(t, "the killed leader's target down", 30*time.Second, func() bool {
		return p.queryBy(`up{job="fleetctl-sync"}`, "node")[first] == "0"
	})
	waitUntil(t, "the other node to lead", 60*time.Second, func() bool {
		l := p.queryBy(`sync_is_leader == 1`, "node")
		return len(l) == 1 && l[second] == "1" && p.query(`sum(sync_is_leader)`)[""] == "1"
	})
	waitUntil(t, "the failover in sync_failover_events_total", 30*time.Second, func() bool {
		after, _ := strconv.ParseFloat(p.queryBy(`sync_failover_events_total`, "node")[second], 64)
		return after > before
	})
	waitUntil(t, "increase(sync_failover_events_total[2m]) > 0 on the new leader", 30*time.Second, func() bool {
		return p.queryBy(`increase(sync_failover_events_total[2m]) > 0`, "node")[second] != ""
	})
	t.Logf("failover seen by Prometheus: %s → %s, sync_failover_events_total{node=%q} = %s (was %v)",
		first, second, second, p.queryBy(`sync_failover_events_total`, "node")[second], before)
	if s := p.ruleStates()["SyncSplitBrain"]; s != "ok/inactive" {
		t.Errorf("SyncSplitBrain after the failover: %s, want ok/inactive", s)
	}

	// No secret in what was rendered or logged.
	pw := pgtest.Password
	filepath.Walk(out, func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			data, _ := os.ReadFile(path)
			if strings.Contains(string(data), pw) {
				t.Errorf("%s carries the target database's password", path)
			}
		}
		return nil
	})
	for _, n := range nodes {
		if strings.Contains(n.logs.String(), pw) {
			t.Errorf("sync node %s logged the target database's password", n.name)
		}
	}
	f.noSecrets("prometheus logs", p.logs.String())
}
