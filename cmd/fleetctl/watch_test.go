package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// These tests run the real `fleetctl watch` as a subprocess against the real
// engine, in their own namespaced fleet (see itest_helpers_test.go). They
// wait for conditions with generous deadlines and assert nothing about time.

type watchProc struct {
	t    *testing.T
	f    *testFleet
	cmd  *exec.Cmd
	port int
	logs *syncBuffer
	done chan struct{}
	err  error
}

// syncBuffer collects the daemon's stderr (JSON log lines).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// lines returns the parsed log lines whose msg is msg ("" for all).
func (s *syncBuffer) lines(msg string) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(s.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && (msg == "" || m["msg"] == msg) {
			out = append(out, m)
		}
	}
	return out
}

func startWatch(t *testing.T, f *testFleet, extra ...string) *watchProc {
	t.Helper()
	w := &watchProc{t: t, f: f, port: freePorts(t, 1)[0], logs: &syncBuffer{}, done: make(chan struct{})}
	args := append([]string{"watch", "--listen", fmt.Sprintf("127.0.0.1:%d", w.port), "--resync", "30s"}, extra...)
	full := append([]string{args[0], "-f", f.file}, args[1:]...)
	w.cmd = exec.Command(fleetctlBin(t), full...)
	w.cmd.Env = append(os.Environ(), "IT_OAUTH_SECRET="+testOAuthSecret)
	w.cmd.Stderr, w.cmd.Stdout = w.logs, w.logs
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { w.err = w.cmd.Wait(); close(w.done) }()
	t.Cleanup(func() {
		w.stop()
		f.noSecrets("fleetctl watch logs", w.logs.String())
		if t.Failed() {
			t.Logf("watch logs:\n%s", w.logs.String())
		}
	})
	waitUntil(t, "watch to serve /healthz", 30*time.Second, func() bool { return w.get("/healthz") == 200 })
	return w
}

// stop sends SIGTERM and waits for the daemon to exit.
func (w *watchProc) stop() {
	select {
	case <-w.done:
		return
	default:
	}
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.done:
	case <-time.After(2 * time.Minute):
		_ = w.cmd.Process.Kill()
		<-w.done
		w.t.Error("watch did not exit within 2 minutes of SIGTERM")
	}
}

func (w *watchProc) get(path string) int {
	code, _ := w.getBody(path)
	return code
}

func (w *watchProc) getBody(path string) (int, string) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d%s", w.port, path))
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// metric returns the sample line of name (with labels) from /metrics.
func (w *watchProc) metric(series string) string {
	_, body := w.getBody("/metrics")
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, series+" ") {
			return strings.TrimPrefix(l, series+" ")
		}
	}
	return ""
}

func waitUntil(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// healthy reports whether the client on port answers its health check.
func healthy(port int) bool {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/health", port))
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var h struct{ Status bool }
	return resp.StatusCode == 200 && json.NewDecoder(resp.Body).Decode(&h) == nil && h.Status
}

func (f *testFleet) allHealthy(cs []clientDef) bool {
	for _, c := range cs {
		if !healthy(c.port) {
			return false
		}
	}
	return true
}

// writeByRename saves fleet.yaml the way many editors do: a new file renamed
// over the old one (a watch on the old file's inode would miss it).
func (f *testFleet) writeByRename(cs []clientDef, defaultsExtra string) {
	f.t.Helper()
	keep := f.file
	f.file = filepath.Join(f.dir, ".fleet.yaml.swp")
	f.write(cs, defaultsExtra)
	f.file = keep
	if err := os.Rename(filepath.Join(f.dir, ".fleet.yaml.swp"), f.file); err != nil {
		f.t.Fatal(err)
	}
}

// watchNaming is the helpers' default naming ({fleet}-{client}, so these
// tests never collide with another fleet's containers), spelled out because
// some of these tests pass other defaults too.
const watchNaming = "  naming:\n    container: \"{fleet}-{client}\"\n    volume: \"{fleet}-{client}-data\"\n"

func inspect(t *testing.T, name, format string) string {
	out, err := exec.Command("docker", "inspect", "--format", format, name).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func TestWatchRepairsRemovedAndKilledContainers(t *testing.T) {
	f := newTestFleet(t, 2)
	cs := f.clients()
	f.write(cs, watchNaming)
	w := startWatch(t, f)
	waitUntil(t, "both clients healthy", 90*time.Second, func() bool { return f.allHealthy(cs) })
	waitUntil(t, "/readyz 200", 60*time.Second, func() bool { return w.get("/readyz") == 200 })

	// Removed by hand: recreated (new ID) and healthy.
	old := containerID(t, f.ctr("c0"))
	dockerCLI(t, "rm", "-f", f.ctr("c0"))
	waitUntil(t, "c0 recreated and healthy", 90*time.Second, func() bool {
		id := containerID(t, f.ctr("c0"))
		return id != "" && id != old && healthy(cs[0].port)
	})

	// Killed: started again and healthy.
	started := inspect(t, f.ctr("c1"), "{{.State.StartedAt}}")
	dockerCLI(t, "kill", f.ctr("c1"))
	waitUntil(t, "c1 running again and healthy", 90*time.Second, func() bool {
		return inspect(t, f.ctr("c1"), "{{.State.StartedAt}}") != started &&
			inspect(t, f.ctr("c1"), "{{.State.Running}}") == "true" && healthy(cs[1].port)
	})

	// Metrics and logs are written as the pass ends, just after the health
	// gate the checks above saw pass: wait for them too.
	for _, kind := range []string{"container_missing", "container_not_running"} {
		series := `fleet_drift_detected_total{kind="` + kind + `"}`
		waitUntil(t, series, 30*time.Second, func() bool { v := w.metric(series); return v != "" && v != "0" })
	}
	// One JSON log line per action, with client, action, cause and duration.
	waitUntil(t, "the action log line of c0's repair", 30*time.Second, func() bool {
		for _, l := range w.logs.lines("action") {
			if l["client"] == "c0" && l["action"] == "create-container" && l["cause"] == "container missing" &&
				l["result"] == "done" && l["duration_seconds"] != nil {
				return true
			}
		}
		return false
	})
}

func TestWatchEditInvalidThenFixed(t *testing.T) {
	f := newTestFleet(t, 3)
	cs := f.clients()
	f.write(cs, watchNaming)
	w := startWatch(t, f)
	waitUntil(t, "all clients healthy", 90*time.Second, func() bool { return f.allHealthy(cs) })
	ids := map[string]string{}
	for _, c := range cs {
		ids[c.name] = containerID(t, f.ctr(c.name))
	}

	// displayName edited (saved by rename): only that client is recreated.
	cs[0].display = "Client Zero Edited"
	f.writeByRename(cs, watchNaming)
	waitUntil(t, "c0 renamed", 90*time.Second, func() bool { return healthy(cs[0].port) && nameNow(cs[0].port) == uiName(cs[0].display) })
	if id := containerID(t, f.ctr("c0")); id == ids["c0"] {
		t.Fatal("c0 was not recreated")
	}
	ids["c0"] = containerID(t, f.ctr("c0"))
	for _, c := range cs[1:] {
		if id := containerID(t, f.ctr(c.name)); id != ids[c.name] {
			t.Errorf("%s was recreated but did not change", c.name)
		}
	}
	waitUntil(t, "/readyz 200", 60*time.Second, func() bool { return w.get("/readyz") == 200 })

	// An invalid file (that would also rename c2): nothing changes.
	bad := append([]clientDef(nil), cs...)
	bad[1].port = 80
	bad[2].display = "Must Not Apply"
	f.writeByRename(bad, watchNaming)
	waitUntil(t, "/readyz 503", 30*time.Second, func() bool { return w.get("/readyz") == 503 })
	if _, body := w.getBody("/readyz"); !strings.Contains(body, "clients[1].port") {
		t.Errorf("/readyz does not name the error:\n%s", body)
	}
	if v := w.metric("fleet_spec_valid"); v != "0" {
		t.Errorf("fleet_spec_valid = %q, want 0", v)
	}
	if _, body := w.getBody("/"); !strings.Contains(body, "clients[1].port") {
		t.Error("the status page does not show the spec error")
	}
	var logged bool
	for _, l := range w.logs.lines("") {
		if strings.Contains(fmt.Sprint(l["msg"]), "fleet.yaml is invalid") && strings.Contains(fmt.Sprint(l["errors"]), "clients[1].port") {
			logged = true
		}
	}
	if !logged {
		t.Error("the spec errors were not logged")
	}
	// Force a pass (SIGHUP) and wait for it: it must change nothing.
	passes := len(w.logs.lines("reconcile done"))
	_ = w.cmd.Process.Signal(syscall.SIGHUP)
	waitUntil(t, "a pass after SIGHUP", 60*time.Second, func() bool { return len(w.logs.lines("reconcile done")) > passes })
	for _, c := range cs {
		if id := containerID(t, f.ctr(c.name)); id != ids[c.name] {
			t.Errorf("%s changed while fleet.yaml was invalid", c.name)
		}
	}
	if got := appName(t, cs[2].port); got != uiName(cs[2].display) {
		t.Errorf("c2 answers as %q while fleet.yaml was invalid", got)
	}

	// Fixed: converges.
	cs[2].display = "Client Two Fixed"
	f.writeByRename(cs, watchNaming)
	waitUntil(t, "c2 renamed after the fix", 90*time.Second, func() bool { return healthy(cs[2].port) && nameNow(cs[2].port) == uiName(cs[2].display) })
	waitUntil(t, "/readyz 200 after the fix", 60*time.Second, func() bool { return w.get("/readyz") == 200 })
	if v := w.metric("fleet_spec_valid"); v != "1" {
		t.Errorf("fleet_spec_valid = %q, want 1", v)
	}
	if id := containerID(t, f.ctr("c1")); id != ids["c1"] {
		t.Error("c1 was recreated but did not change")
	}
}

// slowFleet is one client whose replacement takes a few seconds to become
// healthy, so a test can act while a recreate is under way.
func slowFleet(t *testing.T) (*testFleet, []clientDef, *watchProc) {
	f := newTestFleet(t, 1)
	cs := f.clients()
	f.write(cs, watchNaming+"  env:\n    STANDIN_START_DELAY: 3s\n")
	w := startWatch(t, f)
	waitUntil(t, "c0 healthy", 90*time.Second, func() bool { return healthy(cs[0].port) })
	cs[0].display = "Client Zero Slow"
	f.writeByRename(cs, watchNaming+"  env:\n    STANDIN_START_DELAY: 3s\n")
	waitUntil(t, "the recreate to be under way", 60*time.Second, func() bool {
		return containerID(t, f.ctr("c0")+".previous") != ""
	})
	return f, cs, w
}

func TestWatchSIGTERMDuringRecreate(t *testing.T) {
	f, cs, w := slowFleet(t)
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.done:
	case <-time.After(2 * time.Minute):
		t.Fatal("watch did not exit after SIGTERM")
	}
	if w.err != nil {
		t.Fatalf("watch exited with %v", w.err)
	}
	// Old or new, but running and healthy, and nothing parked.
	if inspect(t, f.ctr("c0"), "{{.State.Running}}") != "true" || !healthy(cs[0].port) {
		t.Fatal("c0 is not running and healthy after SIGTERM during its recreate")
	}
	if id := containerID(t, f.ctr("c0")+".previous"); id != "" {
		t.Error("a parked .previous container was left behind")
	}
	if len(w.logs.lines("stopped")) != 1 {
		t.Error("no clean stop logged")
	}
}

func TestApplyWaitsForWatchLock(t *testing.T) {
	f, _, w := slowFleet(t)
	// The daemon holds the lock mid-recreate; apply must wait for it and
	// then find nothing to do (had it not waited it would see the parked
	// container and plan to finish the recreate itself).
	r := f.run("apply", "--auto-approve")
	if r.code != 0 || !strings.Contains(r.stdout, "No changes.") {
		t.Fatalf("apply: exit %d\n%s", r.code, r.all())
	}
	// The daemon logs each action before it releases the lock.
	var recreated bool
	for _, l := range w.logs.lines("action") {
		if l["client"] == "c0" && l["action"] == "recreate-container" && l["result"] == "done" {
			recreated = true
		}
	}
	if !recreated {
		t.Fatal("apply returned before the daemon's recreate finished")
	}
}

// A client whose database is unreachable crash-loops. The daemon must back
// it off (never recreate it pass after pass), count it as unhealthy on
// /metrics, show it on the status page, stay ready (/readyz 200: the daemon
// itself is fine, and the healthy client is kept) and never print the
// database password.
func TestWatchBacksOffCrashLoopingClient(t *testing.T) {
	f := newTestFleet(t, 2)
	url := "postgres://u:" + crashDBPassword + "@127.0.0.1:1/db"
	if err := os.WriteFile(filepath.Join(f.dir, "dburl"), []byte(url), 0o600); err != nil {
		t.Fatal(err)
	}
	cs := f.clients()
	cs[1].extra = "    restartPolicy: unless-stopped\n    database:\n      backend: postgres\n      url: ${file:./dburl}\n"
	f.write(cs, watchNaming)
	w := startWatch(t, f, "--backoff-max", "10s")
	t.Cleanup(func() {
		if strings.Contains(w.logs.String(), crashDBPassword) {
			t.Error("fleetctl watch printed the database password")
		}
	})
	waitUntil(t, "c0 healthy", 90*time.Second, func() bool { return healthy(cs[0].port) })

	type clientRow struct {
		Name, State, Health, LastError string
		Down                           bool
		Failures                       int
		BackoffUntil                   time.Time
	}
	row := func() (clientRow, string) {
		_, body := w.getBody("/status.json")
		var s struct{ Clients []clientRow }
		_ = json.Unmarshal([]byte(body), &s)
		for _, c := range s.Clients {
			if c.Name == "c1" {
				return c, body
			}
		}
		return clientRow{}, body
	}
	// Backed off: it failed twice (one try per backoff window, not one per
	// pass), and its container was made once and is never recreated.
	waitUntil(t, "c1 backed off after two failures", 3*time.Minute, func() bool {
		c, _ := row()
		return c.Failures >= 2
	})
	id := containerID(t, f.ctr("c1"))
	if id == "" {
		t.Fatal("c1 has no container")
	}
	waitUntil(t, "c1 failing a third time", 3*time.Minute, func() bool {
		c, _ := row()
		return c.Failures >= 3
	})
	if got := containerID(t, f.ctr("c1")); got != id {
		t.Errorf("the crash-looping container was recreated (%s -> %s): it matches fleet.yaml", id, got)
	}
	c, body := row()
	if !c.Down || !strings.HasPrefix(c.Health, "unhealthy") || c.LastError == "" || c.BackoffUntil.IsZero() {
		t.Errorf("status.json row of c1: want down, unhealthy, its last error and a backoff; got %+v", c)
	}
	backingOff := 0
	for _, l := range w.logs.lines("client backing off") {
		if l["client"] == "c1" {
			backingOff++
		}
		if l["client"] == "c0" {
			t.Errorf("the healthy client c0 was backed off: %v", l)
		}
	}
	if backingOff < 3 {
		t.Errorf("want a 'client backing off' log line per failure of c1, got %d", backingOff)
	}

	// /metrics counts it unhealthy (whatever its state label says), and
	// the clients in backoff.
	waitUntil(t, `fleet_clients{health="unhealthy"} >= 1`, 60*time.Second, func() bool {
		_, m := w.getBody("/metrics")
		return unhealthyClients(m) >= 1
	})
	if v := w.metric("fleet_clients_in_backoff"); v == "" {
		t.Error("no fleet_clients_in_backoff on /metrics")
	}

	// The status page shows it: down, with its error and the retry.
	code, page := w.getBody("/")
	if code != 200 || !strings.Contains(page, f.ctr("c1")) || !strings.Contains(page, "unhealthy") ||
		!strings.Contains(page, "failures)") || !strings.Contains(page, "degraded") {
		t.Errorf("status page: want c1 shown unhealthy with its failures and the fleet degraded; got %d:\n%s", code, page)
	}

	// The daemon is doing its job: ready, and the healthy client kept.
	waitUntil(t, "/readyz 200 while c1 crash-loops", 60*time.Second, func() bool { return w.get("/readyz") == 200 })
	if !healthy(cs[0].port) {
		t.Error("c0 is no longer healthy")
	}

	_, metrics := w.getBody("/metrics")
	for what, text := range map[string]string{"status.json": body, "status page": page, "/metrics": metrics, "logs": w.logs.String()} {
		if strings.Contains(text, crashDBPassword) {
			t.Errorf("%s shows the database password", what)
		}
	}
}

// unhealthyClients sums the fleet_clients samples labelled health="unhealthy".
func unhealthyClients(metrics string) float64 {
	var n float64
	for _, l := range strings.Split(metrics, "\n") {
		if !strings.HasPrefix(l, "fleet_clients{") || !strings.Contains(l, `health="unhealthy"`) {
			continue
		}
		var v float64
		if _, err := fmt.Sscanf(l[strings.LastIndexByte(l, ' ')+1:], "%g", &v); err == nil {
			n += v
		}
	}
	return n
}
