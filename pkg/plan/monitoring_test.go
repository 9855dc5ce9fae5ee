package plan

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/monitoring"
	"github.com/quantabase/fleetctl/pkg/observe"
)

// Distinctive Grafana passwords of the monitoring golden cases.
var monEnv = map[string]string{"GRAFANA_PW": "golden-grafana-pass-1", "GRAFANA_PW_2": "golden-grafana-pass-2"}

const monDir = "/srv/golden/monitoring"

func monSpec(t *testing.T, yaml string) (*fleet.Spec, fleet.Secrets) {
	t.Helper()
	spec, err := fleet.Parse([]byte(yaml), "fleet.yaml")
	if err != nil {
		t.Fatalf("%v\n%s", err, yaml)
	}
	r := fleet.Resolver{
		LookupEnv: func(k string) (string, bool) { v, ok := monEnv[k]; return v, ok },
		ReadFile:  func(string) ([]byte, error) { return []byte(goldenSeed), nil },
	}
	secrets, err := r.Resolve(spec)
	if err != nil {
		t.Fatal(err)
	}
	return spec, secrets
}

// monApplied is the host after applying spec, monitoring included: the
// rendered files in monDir, both containers running, their volumes.
func monApplied(t *testing.T, spec *fleet.Spec, secrets fleet.Secrets) *observe.State {
	t.Helper()
	st := appliedState(spec, secrets)
	st.Monitoring = &observe.MonitoringState{Dir: monDir, Files: []observe.ObservedFile{}}
	if spec.Monitoring == nil || !spec.Monitoring.Deploy {
		return st
	}
	files, err := monitoring.Render(monitoring.Input{Spec: spec, Sync: monitoring.SyncClusters(spec)})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		sum := sha256.Sum256(f.Data)
		st.Monitoring.Files = append(st.Monitoring.Files, observe.ObservedFile{Path: f.Path, Digest: hex.EncodeToString(sum[:]), Data: f.Data})
	}
	sort.Slice(st.Monitoring.Files, func(i, j int) bool { return st.Monitoring.Files[i].Path < st.Monitoring.Files[j].Path })
	m := spec.Monitoring
	for _, role := range []string{roleProm, roleGrafana} {
		ctr, _, _ := renderMonitoring(spec, secrets, monDir, role)
		st.Containers = append(st.Containers, observe.Container{
			ID: "id-" + ctr.Name + "-000000000000", Name: ctr.Name, Image: ctr.Image, State: "running", Labels: ctr.Labels})
		st.Volumes = append(st.Volumes, observe.Volume{Name: MonitoringVolumeName(spec.Fleet, role),
			Labels: map[string]string{observe.LabelManagedBy: observe.ManagedByValue, observe.LabelFleet: spec.Fleet, LabelMonitoring: role}})
	}
	st.Images[m.Prometheus.Image] = "sha256:prom"
	st.Images[m.Grafana.Image] = "sha256:graf"
	return st
}

func TestMonitoringGolden(t *testing.T) {
	raw, err := os.ReadFile("testdata/monitoring/base.yaml")
	if err != nil {
		t.Fatal(err)
	}
	base := string(raw)
	noMon := base[:strings.Index(base, "monitoring:")]
	for _, c := range []struct {
		name, before, after string
		tweak               func(*observe.State)
	}{
		// Nothing of the monitoring exists yet: files, volumes, containers.
		{name: "create", before: noMon, after: base, tweak: func(st *observe.State) {
			st.Monitoring = &observe.MonitoringState{Dir: monDir, Files: []observe.ObservedFile{}}
		}},
		{name: "noop", before: base, after: base},
		// A new client changes the alert rules: Prometheus reloads, nothing is recreated.
		{name: "add-client", before: base, after: strings.Replace(base, "monitoring:", "  - name: gamma\n    port: 8083\nmonitoring:", 1)},
		{name: "scrape-interval", before: base, after: strings.Replace(base, "  deploy: true\n", "  deploy: true\n  scrapeInterval: 30s\n", 1)},
		// Files written by an apply that died before the reload.
		{name: "reload-pending", before: base, after: base, tweak: func(st *observe.State) { st.Monitoring.ReloadPending = true }},
		// A reload was pending and Prometheus is replaced anyway: the marker is cleared, no reload.
		{name: "reload-pending-recreate", before: base, after: strings.Replace(base, "fleetctl/prometheus-local:dev", "fleetctl/prometheus-local:v2", 1),
			tweak: func(st *observe.State) { st.Monitoring.ReloadPending = true }},
		// Grafana's provisioning written by an apply that died before the restart.
		{name: "grafana-restart-pending", before: base, after: base, tweak: func(st *observe.State) { st.Monitoring.GrafanaRestartPending = true }},
		{name: "image-change", before: base, after: strings.Replace(base, "fleetctl/prometheus-local:dev", "fleetctl/prometheus-local:v2", 1)},
		{name: "port-change", before: base, after: strings.Replace(base, "    image: fleetctl/prometheus-local:dev\n", "    image: fleetctl/prometheus-local:dev\n    port: 9091\n", 1)},
		{name: "password-change", before: base, after: strings.Replace(base, "GRAFANA_PW}", "GRAFANA_PW_2}", 1)},
		{name: "stopped", before: base, after: base, tweak: func(st *observe.State) {
			for i := range st.Containers {
				if st.Containers[i].Name == "golden-prometheus" {
					st.Containers[i].State = "exited"
				}
			}
		}},
		// Another fleet's Prometheus listens on the port (host network: no published port to see).
		{name: "port-taken", before: noMon, after: base, tweak: func(st *observe.State) {
			other, secrets := monSpec(t, strings.Replace(base, "fleet: golden", "fleet: other", 1))
			ctr, _, _ := renderMonitoring(other, secrets, "/srv/other/monitoring", roleProm)
			st.Containers = append(st.Containers, observe.Container{ID: "id-other", Name: ctr.Name, State: "running", Labels: ctr.Labels})
			st.Monitoring = &observe.MonitoringState{Dir: monDir, Files: []observe.ObservedFile{}}
		}},
		// A Prometheus installed on the host holds the port.
		{name: "port-bound", before: noMon, after: base, tweak: func(st *observe.State) {
			st.BoundPorts = []observe.PortBinding{{HostIP: "127.0.0.1", HostPort: 9090}}
			st.Monitoring = &observe.MonitoringState{Dir: monDir, Files: []observe.ObservedFile{}}
		}},
		// A container of someone else has Prometheus' name: a conflict, no reload sent to it.
		{name: "name-taken", before: base, after: strings.Replace(base, "  deploy: true\n", "  deploy: true\n  scrapeInterval: 30s\n", 1), tweak: func(st *observe.State) {
			for i := range st.Containers {
				if st.Containers[i].Name == "golden-prometheus" {
					st.Containers[i].Labels = map[string]string{"maintainer": "someone"}
				}
			}
		}},
		// monitoring.dir replaced on the host (mv and a fresh copy): Prometheus' mount still shows the old one.
		{name: "dir-replaced", before: base, after: base, tweak: func(st *observe.State) {
			st.Monitoring.DirIDs = map[string]string{"prometheus": "64769:2002", "grafana/provisioning": "64769:3", "grafana/dashboards": "64769:4"}
			for i := range st.Containers {
				c := &st.Containers[i]
				if role := c.Labels[LabelMonitoring]; role != "" {
					c.Labels[LabelMonitoringMounts] = MonitoringMountsLabel(MonitoringBinds(monDir, role), func(src string) string {
						return map[string]string{monDir + "/prometheus": "64769:2", monDir + "/grafana/provisioning": "64769:3", monDir + "/grafana/dashboards": "64769:4"}[src]
					})
				}
			}
		}},
		// Prometheus crash-loops (its log shows Grafana's password, masked), Grafana fails /api/health:
		// problems, not converged, nothing recreated again and again.
		{name: "down", before: base, after: base, tweak: func(st *observe.State) {
			for i := range st.Containers {
				c := &st.Containers[i]
				switch c.Name {
				case "golden-prometheus":
					c.State = "restarting"
					c.Runtime = &observe.Runtime{Status: "restarting", Restarting: true, RestartCount: 4, ExitCode: 2,
						Logs: []string{"err: bad config near golden-grafana-pass-1"}}
				case "golden-grafana":
					c.Runtime = &observe.Runtime{Status: "running", Running: true}
					c.Probe = &observe.Probe{Path: "/api/health", Detail: "HTTP 503"}
				}
			}
		}},
		// A volume with Prometheus' data name that another fleet's client owns: a conflict, not mounted.
		{name: "volume-taken", before: noMon, after: base, tweak: func(st *observe.State) {
			st.Monitoring = &observe.MonitoringState{Dir: monDir, Files: []observe.ObservedFile{}}
			st.Volumes = append(st.Volumes, observe.Volume{Name: "golden-prometheus-data", Labels: map[string]string{
				observe.LabelManagedBy: observe.ManagedByValue, observe.LabelFleet: "golden2", observe.LabelClient: "prometheus"}})
		}},
		// The directory cannot be read: a conflict, so the plan does not claim convergence.
		{name: "unobserved", before: base, after: base, tweak: func(st *observe.State) {
			st.Monitoring, st.MonitoringErr = nil, "read monitoring dir "+monDir+": permission denied"
		}},
		// Grafana opened to the network: Prometheus (unauthenticated /-/quit) stays on 127.0.0.1.
		{name: "grafana-exposed", before: base, after: strings.Replace(base, "  deploy: true\n", "  deploy: true\n  bindAddress: 0.0.0.0\n", 1)},
		{name: "deploy-off", before: base, after: strings.Replace(base, "deploy: true", "deploy: false", 1)},
		{name: "removed", before: base, after: noMon},
	} {
		t.Run(c.name, func(t *testing.T) {
			bs, bsec := monSpec(t, c.before)
			st := monApplied(t, bs, bsec)
			if c.tweak != nil {
				c.tweak(st)
			}
			spec, secrets := monSpec(t, c.after)
			p := Build(spec, secrets, st, Options{})
			var text, js bytes.Buffer
			if err := p.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			if err := p.WriteJSON(&js); err != nil {
				t.Fatal(err)
			}
			for _, out := range []string{text.String(), js.String()} {
				for _, s := range append([]string{goldenSeed}, values(monEnv)...) {
					if strings.Contains(out, s) {
						t.Fatalf("plan output contains a secret value")
					}
				}
			}
			for _, a := range p.Actions {
				if a.Container == nil {
					continue
				}
				for k, v := range a.Container.Labels {
					for _, s := range values(monEnv) {
						if strings.Contains(v, s) {
							t.Fatalf("label %s holds a secret", k)
						}
					}
				}
			}
			dir := filepath.Join("testdata/monitoring", c.name)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join(dir, "want.txt"), text.Bytes())
			golden(t, filepath.Join(dir, "want.json"), js.Bytes())
			roundTrip(t, p, text.String(), js.String())
		})
	}
}

// The second plan after a successful apply is empty, whatever changed.
func TestMonitoringConverges(t *testing.T) {
	raw, err := os.ReadFile("testdata/monitoring/base.yaml")
	if err != nil {
		t.Fatal(err)
	}
	spec, secrets := monSpec(t, string(raw))
	if p := Build(spec, secrets, monApplied(t, spec, secrets), Options{}); !p.Converged() {
		var text bytes.Buffer
		_ = p.WriteText(&text)
		t.Fatalf("applied state plans changes:\n%s", text.String())
	}
}

// apply clears Grafana's restart marker after an action that starts
// Grafana on the files, and after no other.
func TestGrafanaStartsOn(t *testing.T) {
	raw, err := os.ReadFile("testdata/monitoring/base.yaml")
	if err != nil {
		t.Fatal(err)
	}
	spec, secrets := monSpec(t, string(raw))
	graf, _, _ := renderMonitoring(spec, secrets, monDir, roleGrafana)
	prom, _, _ := renderMonitoring(spec, secrets, monDir, roleProm)
	for _, c := range []struct {
		a    Action
		want string
	}{
		{Action{Kind: KindRestartContainer, Container: &graf}, monDir},
		{Action{Kind: KindCreateContainer, Container: &graf}, monDir},
		{Action{Kind: KindRemoveContainer, Container: &graf}, ""},
		{Action{Kind: KindRestartContainer, Container: &prom}, ""},
		{Action{Kind: KindWriteMonitoring}, ""},
	} {
		if got := GrafanaStartsOn(&c.a); got != c.want {
			t.Errorf("%s %v: %q, want %q", c.a.Kind, c.a.Container != nil, got, c.want)
		}
	}
}
