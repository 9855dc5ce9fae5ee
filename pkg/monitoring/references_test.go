package monitoring_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	sdkprom "github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"

	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/monitoring"
	"github.com/quantabase/fleetctl/pkg/watch"
)

// renderFull renders a fleet with a sync cluster, so every panel and rule is there.
func renderFull(t *testing.T) map[string][]byte {
	t.Helper()
	spec, err := fleet.Parse([]byte(`apiVersion: fleetctl/v1
fleet: refs
secretKeySeed: ${env:SEED}
clients:
  - name: a
    port: 8081
monitoring:
  targets:
    syncNodes: [127.0.0.1:9443, 127.0.0.1:9444]
`), "fleet.yaml")
	if err != nil {
		t.Fatal(err)
	}
	files, err := monitoring.Render(monitoring.Input{Spec: spec, Sync: monitoring.SyncClusters(spec)})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		out[f.Path] = f.Data
	}
	return out
}

// loadDashboard unmarshals raw into the SDK's dashboard type, validates
// it, and checks that marshalling it again gives the same bytes: a field the
// SDK does not know would be dropped and the round trip would differ. (The
// SDK's UnmarshalJSONStrict cannot be used in v0.0.22: its nested strict
// decoders return an empty error list as a non-nil error, so it stops at the
// first panel.)
func loadDashboard(t *testing.T, name string, raw []byte) dashboard.Dashboard {
	t.Helper()
	plugins.RegisterDefaultPlugins()
	var d dashboard.Dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("%s does not unmarshal into the SDK's Dashboard: %v", name, err)
	}
	if err := d.Validate(); !noErrors(err) {
		t.Fatalf("%s: the SDK's Validate: %v", name, err)
	}
	again, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(append(again, '\n'), raw) {
		t.Errorf("%s changes in a round trip through the SDK's types", name)
	}
	return d
}

// noErrors: the SDK returns its error list as a typed nil when it is empty.
func noErrors(err error) bool {
	var be cog.BuildErrors
	return err == nil || (errors.As(err, &be) && len(be) == 0)
}

// panelExprs lists each panel's title and its PromQL queries.
func panelExprs(t *testing.T, d dashboard.Dashboard) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, p := range d.Panels {
		if p.Panel == nil {
			continue // a row
		}
		title := *p.Panel.Title
		if len(p.Panel.Targets) == 0 {
			t.Errorf("panel %q has no query", title)
		}
		for _, q := range p.Panel.Targets {
			pq, ok := q.(*sdkprom.Dataquery)
			if !ok {
				t.Fatalf("panel %q: query is %T, not a Prometheus query", title, q)
			}
			out[title] = append(out[title], pq.Expr)
		}
	}
	return out
}

// TestDashboardsMatchSDKTypes: Grafana cannot run here; the SDK's own types
// are the closest check of what it would load.
func TestDashboardsMatchSDKTypes(t *testing.T) {
	files := renderFull(t)
	for _, name := range []string{monitoring.SyncDashboard, monitoring.OverviewDashboard} {
		d := loadDashboard(t, name, files[name])
		if len(panelExprs(t, d)) < 10 {
			t.Errorf("%s has fewer than 10 panels", name)
		}
	}
}

var identifier = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)

// metricNames picks the metric names out of a PromQL expression: ours all
// start with fleet_ or sync_ (or are Prometheus's own up); recording rules
// have a colon.
func metricNames(expr string) []string {
	var out []string
	for _, id := range identifier.FindAllString(expr, -1) {
		if strings.HasPrefix(id, "fleet_") || strings.HasPrefix(id, "sync_") || strings.HasPrefix(id, "fleet:") || id == "up" {
			out = append(out, id)
		}
	}
	return out
}

// registered reports whether reg holds a metric called name: registering a
// probe of that name fails exactly when one exists (the registry refuses a
// second descriptor with the same fully-qualified name). Unlike Gather, it
// also finds vectors that have no series yet.
func registered(reg *prometheus.Registry, name string) bool {
	probe := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: "probe"})
	err := reg.Register(probe)
	if err == nil {
		reg.Unregister(probe)
		return false
	}
	var are prometheus.AlreadyRegisteredError
	return errors.As(err, &are) || strings.Contains(err.Error(), "same fully-qualified name")
}

// TestEveryReferencedMetricExists: every metric a panel or a rule uses is
// exported by the watch daemon's registry (backups included), or is one of
// the sync node's names (metrics.go), or a recording rule of
// alerts.yml; so a rename cannot silently empty a panel.
func TestEveryReferencedMetricExists(t *testing.T) {
	files := renderFull(t)
	reg := watch.NewMetrics().Registry()
	var rf struct {
		Groups []struct {
			Rules []struct {
				Record, Alert, Expr string
			}
		}
	}
	if err := yaml.Unmarshal(files[monitoring.AlertRules], &rf); err != nil {
		t.Fatal(err)
	}
	recorded := map[string]bool{}
	uses := map[string][]string{} // metric -> where
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				recorded[r.Record] = true
				continue
			}
			for _, m := range metricNames(r.Expr) {
				uses[m] = append(uses[m], "alert "+r.Alert)
			}
		}
	}
	for _, name := range []string{monitoring.SyncDashboard, monitoring.OverviewDashboard} {
		for title, exprs := range panelExprs(t, loadDashboard(t, name, files[name])) {
			for _, e := range exprs {
				for _, m := range metricNames(e) {
					uses[m] = append(uses[m], name+" panel "+title)
				}
			}
		}
	}
	known := func(m string) bool {
		switch {
		case m == "up", recorded[m], registered(reg, m),
			slices.Contains(monitoring.SyncMetrics, m):
			return true
		}
		return false
	}
	for m, where := range uses {
		base := m
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(m, suffix); ok && !known(m) {
				base = b
			}
		}
		if !known(base) {
			t.Errorf("%s is used by %s but no registry exports it", m, strings.Join(slices.Compact(slices.Sorted(slices.Values(where))), ", "))
		}
	}
	if len(uses) < 25 {
		t.Errorf("found only %d metric names in the rendered files: is the extraction broken?", len(uses))
	}
	// The probe itself must tell apart a name that exists from one that does not.
	if !registered(reg, "fleet_reconciles_total") || registered(reg, "fleet_no_such_metric") {
		t.Fatal("the registry probe does not work")
	}
}

// TestREADMEDescribesEveryPanel: each panel's title has a row in the
// README's table of its dashboard.
func TestREADMEDescribesEveryPanel(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	files := renderFull(t)
	for _, name := range []string{monitoring.SyncDashboard, monitoring.OverviewDashboard} {
		for title := range panelExprs(t, loadDashboard(t, name, files[name])) {
			if !bytes.Contains(readme, []byte("\n| "+title+" | ")) {
				t.Errorf("README.md does not describe the panel %q of %s", title, name)
			}
		}
	}
	for _, a := range monitoring.Alerts() {
		if !bytes.Contains(readme, []byte("`"+a+"`")) {
			t.Errorf("README.md does not list the alert %s", a)
		}
	}
}

// TestSyncMetricsMatchReplicate: the sync names the rules and panels are
// checked against are exactly those pkg/replicate registers (its registry
// needs a running node, so its source is read instead).
func TestSyncMetricsMatchReplicate(t *testing.T) {
	files, err := filepath.Glob("../replicate/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("pkg/replicate sources: %v", err)
	}
	name := regexp.MustCompile(`"(sync_[a-z_]+)"`)
	found := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range name.FindAllSubmatch(src, -1) {
			found[string(m[1])] = true
		}
	}
	for _, n := range monitoring.SyncMetrics {
		if !found[n] {
			t.Errorf("%s is in SyncMetrics but pkg/replicate does not register it", n)
		}
		delete(found, n)
	}
	for n := range found {
		if strings.HasPrefix(n, "sync_metadata") {
			continue // the schema's name, not a metric
		}
		t.Errorf("pkg/replicate registers %s, missing from SyncMetrics", n)
	}
}
