package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMonitoringRender writes the files, reports unchanged ones on a second
// run, and a new client changes the alert rules and the overview dashboard.
func TestMonitoringRender(t *testing.T) {
	dir := t.TempDir()
	spec := writeSpec(t, dir)
	out := filepath.Join(dir, "mon")
	r := runCLI(t, "monitoring", "render", "-f", spec, "--out", out, "--json")
	if r.code != 0 {
		t.Fatalf("render: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var res struct {
		Files []renderedFile `json:"files"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || len(res.Files) != 6 {
		t.Fatalf("render --json: %v: %s", err, r.stdout)
	}
	for _, f := range res.Files {
		if !f.Changed {
			t.Errorf("%s not written on the first render", f.Path)
		}
	}
	r = runCLI(t, "monitoring", "render", "-f", spec, "--out", out)
	if r.code != 0 || !strings.Contains(r.stdout, "Rendered 6 files for fleet clitest, 0 changed.") {
		t.Fatalf("second render: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, "monitoring", "render", "-f", spec, "--out", out, "--check"); r.code != 0 {
		t.Errorf("--check with nothing to change: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	data, _ := os.ReadFile(spec)
	if err := os.WriteFile(spec, append(data, "  - name: gamma\n    port: 8090\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(out, "prometheus", "alerts.yml"))
	r = runCLI(t, "monitoring", "render", "-f", spec, "--out", out, "--check")
	after, _ := os.ReadFile(filepath.Join(out, "prometheus", "alerts.yml"))
	if r.code != 2 || !strings.Contains(r.stdout, "+           client: gamma") || !bytes.Equal(before, after) {
		t.Errorf("--check after adding a client: exit %d, want 2, the new lines shown and nothing written\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, "monitoring", "render", "-f", spec, "--out", out)
	for _, p := range []string{"prometheus/alerts.yml", "grafana/dashboards/fleet-overview.json"} {
		if !strings.Contains(r.stdout, "~ "+filepath.Join(out, p)) {
			t.Errorf("adding a client did not change %s:\n%s", p, r.stdout)
		}
	}
	// A bad fleet.yaml renders nothing.
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("apiVersion: fleetctl/v1\nfleet: x\nsecretKeySeed: ${env:S}\nclients: []\nmonitoring: {targets: {watch: [nope]}}\n"), 0o644)
	if r := runCLI(t, "monitoring", "render", "-f", bad, "--out", filepath.Join(dir, "none")); r.code != 1 ||
		!strings.Contains(r.stderr, "monitoring.targets.watch[0]") {
		t.Errorf("bad file: exit %d\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "none")); !os.IsNotExist(err) {
		t.Errorf("a bad fleet.yaml created the output directory")
	}
}

// promServer is a real Prometheus (Debian's package) run by a test.
type promServer struct {
	t    *testing.T
	port int
	cmd  *exec.Cmd
	logs *syncBuffer
}

func startPrometheus(t *testing.T, config string) *promServer {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatal("prometheus is needed (apt-get install -y prometheus; .ci/run installs it)")
	}
	p := &promServer{t: t, port: freePorts(t, 1)[0], logs: &syncBuffer{}}
	p.cmd = exec.Command(bin, "--config.file="+config, "--storage.tsdb.path="+t.TempDir(),
		"--web.listen-address=127.0.0.1:"+strconv.Itoa(p.port), "--web.enable-lifecycle")
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = p.cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("prometheus logs:\n%s", p.logs.String())
		}
	})
	waitUntil(t, "prometheus to be ready", 60*time.Second, func() bool { return p.get("/-/ready", nil) == nil })
	return p
}

// get fetches path from the HTTP API into v (JSON), nil on a 200.
func (p *promServer) get(path string, v any) error {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d%s", p.port, path))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: %s", path, resp.Status)
	}
	if v != nil {
		return json.NewDecoder(resp.Body).Decode(v)
	}
	return nil
}

// query runs an instant PromQL query: each series' value by its client label.
func (p *promServer) query(q string) map[string]string { return p.queryBy(q, "client") }

// queryBy runs an instant PromQL query: each series' value by its label.
func (p *promServer) queryBy(q, label string) map[string]string {
	var r struct {
		Data struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := p.get("/api/v1/query?query="+url.QueryEscape(q), &r); err != nil {
		p.t.Logf("query %s: %v", q, err)
		return nil
	}
	out := map[string]string{}
	for _, s := range r.Data.Result {
		v, _ := s.Value[1].(string)
		out[s.Metric[label]] = v
	}
	return out
}

// ruleStates maps each loaded rule to "health/state" (ok/inactive, ...).
func (p *promServer) ruleStates() map[string]string {
	var rules struct {
		Data struct {
			Groups []struct {
				Rules []struct {
					Name   string `json:"name"`
					Health string `json:"health"`
					State  string `json:"state"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	if err := p.get("/api/v1/rules", &rules); err != nil {
		p.t.Logf("rules: %v", err)
		return nil
	}
	out := map[string]string{}
	for _, g := range rules.Data.Groups {
		for _, r := range g.Rules {
			out[r.Name] = r.Health + "/" + r.State
		}
	}
	return out
}

// TestPrometheusScrapesWatch: a real Prometheus, configured by `monitoring
// render`, scrapes a running `fleetctl watch` over a stand-in fleet and finds
// the daemon's metrics, each client's health and the rendered rules.
func TestPrometheusScrapesWatch(t *testing.T) {
	f := newTestFleet(t, 2)
	cs := f.clients()
	f.write(cs, watchNaming)
	w := startWatch(t, f)
	waitUntil(t, "both clients healthy", 90*time.Second, func() bool { return f.allHealthy(cs) })

	out := filepath.Join(f.dir, "monitoring")
	spec, _ := os.ReadFile(f.file)
	withMon := string(spec) + fmt.Sprintf("monitoring:\n  scrapeInterval: 1s\n  evaluationInterval: 1s\n  targets:\n    watch: [127.0.0.1:%d]\n", w.port)
	monFile := filepath.Join(f.dir, "fleet-mon.yaml") // beside fleet.yaml: the seed reference is relative
	if err := os.WriteFile(monFile, []byte(withMon), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := f.run("monitoring", "render", "-f", monFile, "--out", out); r.code != 0 {
		t.Fatalf("render: %s", r.all())
	}
	p := startPrometheus(t, filepath.Join(out, "prometheus", "prometheus.yml"))

	waitUntil(t, "the watch target up", 60*time.Second, func() bool {
		return p.query(`up{job="fleetctl-watch"}`)[""] == "1"
	})
	waitUntil(t, "fleet_client_healthy 1 for c0 and c1", 60*time.Second, func() bool {
		h := p.query(`fleet_client_healthy{job="fleetctl-watch"}`)
		return h["c0"] == "1" && h["c1"] == "1"
	})
	if up := p.query(`fleet_client_up`); up["c0"] != "1" || up["c1"] != "1" {
		t.Errorf("fleet_client_up = %v, want 1 for c0 and c1", up)
	}
	if v := p.query(`fleet_spec_valid`)[""]; v != "1" {
		t.Errorf("fleet_spec_valid = %q", v)
	}
	waitUntil(t, "the desired-state recording rule", 30*time.Second, func() bool {
		d := p.query(`fleet:client_desired_running`)
		return d["c0"] == "1" && d["c1"] == "1"
	})
	// The rendered rules are loaded and, once the first scrapes are in
	// (the first evaluation may run before them), the alerts are silent.
	waitUntil(t, "every rendered rule loaded, healthy and inactive", 30*time.Second, func() bool {
		states := p.ruleStates()
		for _, name := range []string{"FleetClientDown", "FleetClientUnhealthy", "FleetClientCrashLooping",
			"FleetSpecInvalid", "FleetctlWatchDown", "FleetctlWatchAbsent", "FleetReconcileFailing"} {
			if states[name] != "ok/inactive" {
				return false
			}
		}
		return true
	})
	// A new client in fleet.yaml: render --reload, and Prometheus evaluates
	// the new desired-state rule without a restart.
	grown := withMon + "" // clients end the file before the monitoring section: insert there
	grown = strings.Replace(grown, "monitoring:\n", "  - name: late\n    port: 1024\nmonitoring:\n", 1)
	if err := os.WriteFile(monFile, []byte(grown), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := f.run("monitoring", "render", "-f", monFile, "--out", out, "--check"); r.code != 2 {
		t.Fatalf("--check after adding a client: exit %d\n%s", r.code, r.all())
	}
	r := f.run("monitoring", "render", "-f", monFile, "--out", out, "--reload", fmt.Sprintf("http://127.0.0.1:%d", p.port))
	if r.code != 0 || !strings.Contains(r.stdout, "reloaded") {
		t.Fatalf("render --reload: exit %d\n%s", r.code, r.all())
	}
	waitUntil(t, "the new client's desired state after the reload", 30*time.Second, func() bool {
		return p.query(`fleet:client_desired_running`)["late"] == "1"
	})
	// Its container does not exist: the down alert goes pending at once.
	waitUntil(t, "FleetClientDown pending for the new client", 30*time.Second, func() bool {
		return p.ruleStates()["FleetClientDown"] == "ok/pending"
	})
	f.noSecrets("prometheus logs", p.logs.String())
}
