//go:build syncbench

package replicate

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The sync benchmarks (make bench-sync): real `fleetctl sync-node`
// processes (FLEETCTL_BIN) with the default timings (lease 8s, renew 2s,
// interval 1s) against a real PostgreSQL. Figures, not assertions.

type nodeProc struct {
	id, addr string
	cmd      *exec.Cmd
}

func startProc(t *testing.T, bin, url, id, dbPath string) *nodeProc {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "sync-node", "--node-id", id, "--listen", addr, "--client", "acme="+dbPath)
	cmd.Env = append(os.Environ(), "FLEETCTL_SYNC_URL="+url)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &nodeProc{id: id, addr: addr, cmd: cmd}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return p
}

func (p *nodeProc) health() (Health, bool) {
	c := http.Client{Timeout: 500 * time.Millisecond}
	resp, err := c.Get("http://" + p.addr + "/health")
	if err != nil {
		return Health{}, false
	}
	defer resp.Body.Close()
	var h Health
	return h, json.NewDecoder(resp.Body).Decode(&h) == nil
}

// leadsSince: leading, with a complete pass that started after t.
func (p *nodeProc) leadsSince(t time.Time) bool {
	h, ok := p.health()
	return ok && h.Role == Leader && len(h.Clients) == 1 && h.Clients[0].LastSync != nil && h.Clients[0].LastSync.After(t)
}

func waitFor(t *testing.T, limit time.Duration, f func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < limit {
		if f() {
			return time.Since(start)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("not within %v", limit)
	return 0
}

func pct(d []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(float64(len(s)-1) * p)
	return s[i]
}

func TestSyncBenchmarks(t *testing.T) {
	bin := os.Getenv("FLEETCTL_BIN")
	if bin == "" {
		t.Skip("FLEETCTL_BIN is needed")
	}
	trials := 20
	if v, _ := strconv.Atoi(os.Getenv("SYNC_BENCH_TRIALS")); v > 0 {
		trials = v
	}
	tg := targets(t)["direct"](t)
	app := newApp(t)
	app.chat(t, "seed", "x", 1)
	a := startProc(t, bin, tg.url, "node-a", app.path)
	b := startProc(t, bin, tg.url, "node-b", app.path)
	procs := map[string]*nodeProc{"node-a": a, "node-b": b}
	leader := func() *nodeProc {
		var l *nodeProc
		waitFor(t, time.Minute, func() bool {
			for _, p := range procs {
				if p.leadsSince(time.Time{}) {
					l = p
					return true
				}
			}
			return false
		})
		return l
	}
	other := func(p *nodeProc) *nodeProc {
		if p.id == "node-a" {
			return procs["node-b"]
		}
		return procs["node-a"]
	}
	restart := func(p *nodeProc) {
		p.cmd.Wait()
		np := startProc(t, bin, tg.url, p.id, app.path)
		procs[p.id] = np
		waitFor(t, time.Minute, func() bool { _, ok := np.health(); return ok })
	}

	var crash, grace []time.Duration
	for i := 0; i < trials; i++ {
		l := leader()
		o := other(l)
		t0 := time.Now()
		l.cmd.Process.Signal(syscall.SIGKILL)
		crash = append(crash, waitFor(t, time.Minute, func() bool { return o.leadsSince(t0) }))
		restart(l)
	}
	for i := 0; i < trials; i++ {
		l := leader()
		o := other(l)
		time.Sleep(300 * time.Millisecond)
		t0 := time.Now()
		l.cmd.Process.Signal(syscall.SIGTERM)
		grace = append(grace, waitFor(t, time.Minute, func() bool { return o.leadsSince(t0) }))
		restart(l)
	}

	// Lag at 100 writes/s: each row's updated_at is its write time (ns);
	// a poller sees when it is in PostgreSQL.
	l := leader()
	w, err := sql.Open("sqlite", "file:"+app.path+"?_pragma=journal_mode(wal)&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.SetMaxOpenConns(1)
	stop := make(chan struct{})
	go func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			w.Exec(`INSERT INTO chat VALUES (?, 'u', 'lag', '{}', 0, 1, ?)`, fmt.Sprint("lag", i), time.Now().UnixNano())
		}
	}()
	seen := map[string]time.Duration{}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		out := tg.query(t, `SELECT string_agg(id || ':' || updated_at, ',') FROM client_acme.chat WHERE title = 'lag'`)
		now := time.Now()
		for _, kv := range strings.Split(out, ",") {
			id, ts, ok := strings.Cut(kv, ":")
			if !ok {
				continue
			}
			if _, done := seen[id]; !done {
				n, _ := strconv.ParseInt(ts, 10, 64)
				seen[id] = now.Sub(time.Unix(0, n))
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	close(stop)
	var lags []time.Duration
	for _, d := range seen {
		lags = append(lags, d)
	}
	st, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(l.cmd.Process.Pid), "status"))
	var hwm string
	for _, line := range strings.Split(string(st), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			hwm = strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:"))
		}
	}
	r := func(d time.Duration) string { return d.Round(10 * time.Millisecond).String() }
	fmt.Printf("| measure | trials | p50 | p99 | max | target |\n|---|---|---|---|---|---|\n")
	fmt.Printf("| failover after SIGKILL of the leader (until the other has led a complete pass) | %d | %s | %s | %s | ≤ 10 s p99 |\n", len(crash), r(pct(crash, .5)), r(pct(crash, .99)), r(pct(crash, 1)))
	fmt.Printf("| graceful hand-off (SIGTERM: lease released; until the other has led a complete pass) | %d | %s | %s | %s | ≤ 1 s |\n", len(grace), r(pct(grace, .5)), r(pct(grace, .99)), r(pct(grace, 1)))
	fmt.Printf("| replication lag at 100 writes/s (write → visible in PostgreSQL, 50 ms polling) | %d rows | %s | %s | %s | p99 ≤ 2 s |\n", len(lags), r(pct(lags, .5)), r(pct(lags, .99)), r(pct(lags, 1)))
	fmt.Printf("\nleader node peak RSS (VmHWM) after the lag run: %s (target < 60 MB)\n", hwm)
}
