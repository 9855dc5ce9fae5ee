package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// prometheusImage is the local Prometheus image (make prometheus-image:
// Debian's binary FROM scratch; nothing can be pulled here).
var prometheusImage = func() string {
	if v := os.Getenv("FLEETCTL_PROMETHEUS_IMAGE"); v != "" {
		return v
	}
	return "fleetctl/prometheus-local:dev"
}()

const testGrafanaPassword = "grafana-ADMIN-pass-5c8e21"

// apply with monitoring.deploy runs Prometheus (the local image) on the
// host network, scraping a watch target on the host's loopback, and
// Grafana (the stand-in: no Grafana image here, so the real one is not
// exercised); a new client changes the alert rules, which apply writes and
// reloads without recreating Prometheus; deploy: false removes the
// containers and keeps volumes and files.
func TestApplyDeploysMonitoring(t *testing.T) {
	if out, err := exec.Command("docker", "image", "inspect", "--format", "{{.Id}}", prometheusImage).CombinedOutput(); err != nil {
		t.Fatalf("the Prometheus image %s is needed (run 'make prometheus-image PROMETHEUS_IMAGE=%s'): %v: %s", prometheusImage, prometheusImage, err, out)
	}
	f := newTestFleet(t, 1)
	t.Setenv("IT_GRAFANA_PW", testGrafanaPassword)
	ports := freePorts(t, 3)
	promPort, grafPort := ports[0], ports[1]
	watch := fakeWatchTarget(t)
	cs := f.clients()
	f.write(cs, "")
	monDir := filepath.Join(f.dir, "mon")
	section := fmt.Sprintf("monitoring:\n  deploy: true\n  dir: %s\n  scrapeInterval: 1s\n  evaluationInterval: 1s\n"+
		"  targets:\n    watch: [%s]\n  prometheus:\n    image: %s\n    port: %d\n"+
		"  grafana:\n    image: %s\n    port: %d\n    adminPassword: ${env:IT_GRAFANA_PW}\n",
		monDir, watch, prometheusImage, promPort, standinImage, grafPort)
	appendFile(t, f.file, section)
	prom, graf := f.name+"-prometheus", f.name+"-grafana"
	t.Cleanup(func() {
		if t.Failed() {
			logs(t, []string{prom, graf})
		}
	})
	noPassword := func(what, out string) {
		t.Helper()
		if strings.Contains(out, testGrafanaPassword) {
			t.Fatalf("%s shows Grafana's password", what)
		}
	}

	p := f.run("plan")
	noPassword("plan", p.all())
	for _, want := range []string{"+ container " + prom, "+ container " + graf, "+ volume " + prom + "-data",
		"+ prometheus/prometheus.yml: file missing", "--web.enable-lifecycle", "env.GF_SECURITY_ADMIN_PASSWORD: (sensitive)"} {
		if !strings.Contains(p.stdout, want) {
			t.Fatalf("plan lacks %q (exit %d):\n%s", want, p.code, p.all())
		}
	}
	planFile := filepath.Join(f.dir, "plan.json")
	if r := f.run("plan", "--out", planFile); r.code != 0 {
		t.Fatalf("plan --out: %s", r.all())
	}
	noPassword("the plan file", readFile(t, planFile))
	noPassword("apply", f.mustApply().all())
	for _, c := range []string{prom, graf} {
		noPassword(c+"'s labels", dockerCLI(t, "inspect", "--format", "{{json .Config.Labels}}", c))
		if mode := dockerCLI(t, "inspect", "--format", "{{.HostConfig.NetworkMode}}", c); mode != "host" {
			t.Errorf("%s network mode %q, want host", c, mode)
		}
	}

	// Prometheus scrapes the watch target on the host's loopback.
	pr := &promServer{t: t, port: promPort}
	waitUntil(t, "the watch target up in the deployed Prometheus", 60*time.Second, func() bool {
		return pr.query(`up{job="fleetctl-watch"}`)[""] == "1"
	})
	waitUntil(t, "the desired-state rule of c0", 30*time.Second, func() bool {
		return pr.query(`fleet:client_desired_running`)["c0"] == "1"
	})
	var h map[string]any
	if code := getJSON(t, grafPort, "/api/health", &h); code != 200 || h["database"] != "ok" {
		t.Errorf("Grafana stand-in /api/health: HTTP %d %v", code, h)
	}
	// Grafana listens on bindAddress only (GF_SERVER_HTTP_ADDR; the stand-in honours it).
	if out := dockerCLI(t, "logs", graf); !strings.Contains(out, "listening on 127.0.0.1:"+strconv.Itoa(grafPort)+";") {
		t.Errorf("Grafana (stand-in) does not listen on 127.0.0.1:%d only:\n%s", grafPort, out)
	}
	if r := f.run("plan", "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("second plan (exit %d):\n%s", r.code, r.all())
	}
	promID := containerID(t, prom)
	before := reloadedAt(t, promPort)

	// A new client and a second watch target: prometheus.yml and the rules
	// change, Prometheus reloads and is not recreated.
	data := readFile(t, f.file)
	late := freePorts(t, 1)[0]
	watch2 := fakeWatchTarget(t)
	grown := strings.Replace(data, "monitoring:\n", fmt.Sprintf("  - name: late\n    port: %d\nmonitoring:\n", late), 1)
	grown = strings.Replace(grown, "watch: ["+watch+"]", "watch: ["+watch+", "+watch2+"]", 1)
	if err := os.WriteFile(f.file, []byte(grown), 0o644); err != nil {
		t.Fatal(err)
	}
	p = f.run("plan")
	noPassword("plan", p.all())
	for _, want := range []string{"~ prometheus/prometheus.yml", "+           - " + watch2, "~ prometheus/alerts.yml", "+           client: late", "reload prometheus " + prom} {
		if !strings.Contains(p.stdout, want) {
			t.Fatalf("plan after adding a client lacks %q:\n%s", want, p.all())
		}
	}
	if strings.Contains(p.stdout, "container "+prom+":") {
		t.Fatalf("plan replaces Prometheus for a rules change:\n%s", p.stdout)
	}
	noPassword("apply", f.mustApply().all())
	if id := containerID(t, prom); id != promID {
		t.Errorf("Prometheus was recreated (%s -> %s)", promID, id)
	}
	if after := reloadedAt(t, promPort); after <= before {
		t.Errorf("reload timestamp %f, not after %f", after, before)
	}
	waitUntil(t, "the new client's desired-state rule after the reload", 30*time.Second, func() bool {
		return pr.query(`fleet:client_desired_running`)["late"] == "1"
	})
	waitUntil(t, "both watch targets up after the reload", 30*time.Second, func() bool {
		return pr.query(`count(up{job="fleetctl-watch"} == 1)`)[""] == "2"
	})
	if r := f.run("plan", "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("plan after the reload (exit %d):\n%s", r.code, r.all())
	}
	if _, err := os.Stat(filepath.Join(monDir, ".fleetctl-reload-pending")); err == nil {
		t.Error("the reload marker is left after a reload that took")
	}

	// monitoring.dir replaced on the host (mv, then a copy at the same
	// path): the containers' mounts still show the old directory, where a
	// reload would read the old files, so the plan recreates them.
	if err := os.Rename(monDir, monDir+".old"); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-r", monDir+".old", monDir).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
	promID = containerID(t, prom)
	p = f.run("plan", "--detailed-exitcode")
	if p.code != 2 || !strings.Contains(p.stdout, monDir+"/prometheus replaced on the host after "+prom+" was created") {
		t.Fatalf("plan after replacing %s (exit %d):\n%s", monDir, p.code, p.all())
	}
	f.mustApply()
	if id := containerID(t, prom); id == promID {
		t.Error("Prometheus was not recreated on the replaced directory")
	}
	if r := f.run("plan", "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("plan after recreating on the replaced directory (exit %d):\n%s", r.code, r.all())
	}

	// deploy: false removes the containers, keeps the volumes and files.
	if err := os.WriteFile(f.file, []byte(strings.Replace(grown, "deploy: true", "deploy: false", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	p = f.run("plan")
	if !strings.Contains(p.stdout, "- container "+prom) || !strings.Contains(p.stdout, "volume "+prom+"-data and the files in "+monDir+" are kept") {
		t.Fatalf("plan with deploy: false:\n%s", p.all())
	}
	f.mustApply()
	for _, c := range []string{prom, graf} {
		if containerID(t, c) != "" {
			t.Errorf("%s still exists", c)
		}
	}
	vols := strings.Join(f.volumes(), " ")
	if !strings.Contains(vols, prom+"-data") || !strings.Contains(vols, graf+"-data") {
		t.Errorf("volumes after removal: %s", vols)
	}
	if _, err := os.Stat(filepath.Join(monDir, "prometheus", "prometheus.yml")); err != nil {
		t.Errorf("rendered files removed: %v", err)
	}
	if r := f.run("plan", "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("plan after removal (exit %d):\n%s", r.code, r.all())
	}
}

// fakeWatchTarget serves a watch daemon's metrics on the host's loopback
// (the scrape target the host-network Prometheus must reach).
func fakeWatchTarget(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "# TYPE fleet_spec_valid gauge\nfleet_spec_valid 1\n")
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// reloadedAt is the deployed Prometheus' last successful reload time, from
// its own /metrics.
func reloadedAt(t *testing.T, port int) float64 {
	t.Helper()
	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(l, "prometheus_config_last_reload_success_timestamp_seconds "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatal("no prometheus_config_last_reload_success_timestamp_seconds in /metrics")
	return 0
}
