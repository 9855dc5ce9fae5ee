package monitoring

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// promtool returns Debian's promtool, failing (never skipping) when it is
// missing: .ci/run installs it.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool is needed (Debian: apt-get install -y prometheus; .ci/run installs it)")
	}
	return p
}

// writeRendered renders the case into a temporary directory.
func writeRendered(t *testing.T, caseDir string) string {
	t.Helper()
	out := t.TempDir()
	for _, f := range renderCase(t, caseDir) {
		p := filepath.Join(out, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func runPromtool(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command(promtool(t), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestPromtoolCheck: promtool accepts every rendered configuration and rule file.
func TestPromtoolCheck(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/render/*")
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			out := writeRendered(t, dir)
			runPromtool(t, "check", "config", filepath.Join(out, filepath.FromSlash(PrometheusConfig)))
			runPromtool(t, "check", "rules", filepath.Join(out, filepath.FromSlash(AlertRules)))
		})
	}
}

// ruleCase is one `promtool test rules` case: synthetic series, and the
// alerts expected at evalTime (none: the alert must stay silent).
type ruleCase struct {
	name     string
	interval string // default 15s
	series   map[string]string
	alert    string
	evalTime string
	want     []map[string]string // labels of each expected alert (severity added)
	value    string              // what {{ $value }} expands to
}

// sync node a's and b's identifying labels, as prometheus.yml gives them.
const (
	nodeA = `job="fleetctl-sync",instance="127.0.0.1:9443",cluster="quantabase",node="openwebui-sync-node-a"`
	nodeB = `job="fleetctl-sync",instance="127.0.0.1:9444",cluster="quantabase",node="openwebui-sync-node-b"`
	watch = `job="fleetctl-watch",instance="127.0.0.1:9100"`
)

func labelsOf(sel string) map[string]string {
	m := map[string]string{}
	for _, kv := range strings.Split(sel, ",") {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = strings.Trim(v, `"`)
	}
	return m
}

func with(m map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

var (
	cluster = map[string]string{"cluster": "quantabase"}
	wLabels = labelsOf(watch)
	aLabels = labelsOf(nodeA)
)

// ruleCases fire every alert of the "sync" golden case (clients acme-corp
// and beta-client running, parked stopped; replicationLag 5s, backupAge 2h; the other
// thresholds at their defaults) and keep each silent on healthy series.
var ruleCases = []ruleCase{
	{name: "watch down", alert: "FleetctlWatchDown", evalTime: "3m", series: map[string]string{"up{" + watch + "}": "0x20"}, want: []map[string]string{wLabels}},
	{name: "watch up", alert: "FleetctlWatchDown", evalTime: "3m", series: map[string]string{"up{" + watch + "}": "1x20"}},
	{name: "no watch scraped", alert: "FleetctlWatchAbsent", evalTime: "6m", series: map[string]string{`up{job="other"}`: "1x40"}, want: []map[string]string{{"job": "fleetctl-watch"}}},
	{name: "watch scraped", alert: "FleetctlWatchAbsent", evalTime: "6m", series: map[string]string{"up{" + watch + "}": "1x40"}},
	{name: "spec invalid", alert: "FleetSpecInvalid", evalTime: "2m", series: map[string]string{"fleet_spec_valid{" + watch + "}": "0x20"}, want: []map[string]string{wLabels}},
	{name: "spec valid", alert: "FleetSpecInvalid", evalTime: "2m", series: map[string]string{"fleet_spec_valid{" + watch + "}": "1x20"}},
	{name: "reconcile failing", alert: "FleetReconcileFailing", evalTime: "15m", series: map[string]string{
		"fleet_reconciles_total{" + watch + `,result="failure"}`: "0+1x80", "fleet_reconciles_total{" + watch + `,result="success"}`: "5x80"},
		want: []map[string]string{{"instance": "127.0.0.1:9100"}}},
	{name: "reconcile recovering", alert: "FleetReconcileFailing", evalTime: "15m", series: map[string]string{
		"fleet_reconciles_total{" + watch + `,result="failure"}`: "0+1x80", "fleet_reconciles_total{" + watch + `,result="success"}`: "0+1x80"}},
	{name: "docker unreachable", alert: "FleetDockerUnreachable", evalTime: "3m", series: map[string]string{"fleet_docker_reachable{" + watch + "}": "0x20"}, want: []map[string]string{wLabels}},
	{name: "docker reachable", alert: "FleetDockerUnreachable", evalTime: "3m", series: map[string]string{"fleet_docker_reachable{" + watch + "}": "1x20"}},
	{name: "client down and one not reported", alert: "FleetClientDown", evalTime: "3m", series: map[string]string{
		"fleet_client_up{" + watch + `,client="acme-corp"}`: "0x20", "fleet_client_up{" + watch + `,client="parked"}`: "0x20"},
		want: []map[string]string{{"client": "acme-corp"}, {"client": "beta-client"}}},
	{name: "clients up, a stopped one down", alert: "FleetClientDown", evalTime: "3m", series: map[string]string{
		"fleet_client_up{" + watch + `,client="acme-corp"}`: "1x20", "fleet_client_up{" + watch + `,client="beta-client"}`: "1x20",
		"fleet_client_up{" + watch + `,client="parked"}`: "0x20"}},
	{name: "crash loop", alert: "FleetClientCrashLooping", evalTime: "10m", series: map[string]string{
		"fleet_client_container_exits_total{" + watch + `,client="beta-client"}`: "0+1x60"},
		want: []map[string]string{with(wLabels, "client", "beta-client")}},
	{name: "engine restarts", alert: "FleetClientCrashLooping", evalTime: "10m", series: map[string]string{
		"fleet_client_restarts{" + watch + `,client="acme-corp"}`: "0 0 1 1 2 2 3 3 4 4 5 5 6 6 7 7"},
		want: []map[string]string{with(wLabels, "client", "acme-corp")}},
	{name: "restarted once long ago", alert: "FleetClientCrashLooping", evalTime: "10m", series: map[string]string{
		"fleet_client_restarts{" + watch + `,client="acme-corp"}`: "1x60"}},
	{name: "one exit", alert: "FleetClientCrashLooping", evalTime: "10m", series: map[string]string{
		"fleet_client_container_exits_total{" + watch + `,client="beta-client"}`: "0x20 1x40"}},
	{name: "unhealthy", alert: "FleetClientUnhealthy", evalTime: "6m", series: map[string]string{
		"fleet_client_up{" + watch + `,client="acme-corp"}`: "1x40", "fleet_client_healthy{" + watch + `,client="acme-corp"}`: "0x40",
		"fleet_client_up{" + watch + `,client="parked"}`: "1x40", "fleet_client_healthy{" + watch + `,client="parked"}`: "0x40"},
		want: []map[string]string{with(wLabels, "client", "acme-corp")}},
	{name: "healthy", alert: "FleetClientUnhealthy", evalTime: "6m", series: map[string]string{
		"fleet_client_up{" + watch + `,client="acme-corp"}`: "1x40", "fleet_client_healthy{" + watch + `,client="acme-corp"}`: "1x40"}},
	{name: "backup too old", alert: "FleetBackupTooOld", interval: "1m", evalTime: "3h", series: map[string]string{
		"fleet_backup_last_success_timestamp_seconds{" + watch + `,client="acme-corp"}`: "0x200"},
		want: []map[string]string{with(wLabels, "client", "acme-corp")}},
	{name: "backup fresh", alert: "FleetBackupTooOld", interval: "1m", evalTime: "3h", series: map[string]string{
		"fleet_backup_last_success_timestamp_seconds{" + watch + `,client="acme-corp"}`: "0+60x200"}},

	{name: "backup failed", alert: "FleetBackupFailing", evalTime: "10m", series: map[string]string{
		"fleet_backup_failures_total{" + watch + `,client="acme-corp"}`: "0x20 1x40"},
		want: []map[string]string{with(wLabels, "client", "acme-corp")}},
	{name: "backups succeed", alert: "FleetBackupFailing", evalTime: "10m", series: map[string]string{
		"fleet_backup_failures_total{" + watch + `,client="acme-corp"}`: "2x60"}},

	{name: "no leader", alert: "SyncNoLeader", evalTime: "2m", series: map[string]string{
		"sync_is_leader{" + nodeA + "}": "0x20", "sync_is_leader{" + nodeB + "}": "0x20", "up{" + nodeA + "}": "1x20", "up{" + nodeB + "}": "1x20"},
		want: []map[string]string{cluster}},
	{name: "every node down", alert: "SyncNoLeader", evalTime: "2m", series: map[string]string{"up{" + nodeA + "}": "0x20", "up{" + nodeB + "}": "0x20"},
		want: []map[string]string{cluster}},
	{name: "one leader", alert: "SyncNoLeader", evalTime: "2m", series: map[string]string{
		"sync_is_leader{" + nodeA + "}": "1x20", "sync_is_leader{" + nodeB + "}": "0x20", "up{" + nodeA + "}": "1x20", "up{" + nodeB + "}": "1x20"}},
	{name: "split brain", alert: "SyncSplitBrain", evalTime: "1m", value: "2", series: map[string]string{
		"sync_is_leader{" + nodeA + "}": "1x20", "sync_is_leader{" + nodeB + "}": "1x20"},
		want: []map[string]string{cluster}},
	{name: "no split brain", alert: "SyncSplitBrain", evalTime: "1m", series: map[string]string{
		"sync_is_leader{" + nodeA + "}": "1x20", "sync_is_leader{" + nodeB + "}": "0x20"}},
	{name: "lease not renewed", alert: "SyncLeaseNotRenewed", evalTime: "2m", series: map[string]string{
		"sync_leader_lease_expires_timestamp{" + nodeA + "}": "8x20", "sync_is_leader{" + nodeA + "}": "1x20"},
		want: []map[string]string{aLabels}},
	{name: "lease renewed", alert: "SyncLeaseNotRenewed", evalTime: "2m", series: map[string]string{
		"sync_leader_lease_expires_timestamp{" + nodeA + "}": "8+15x20", "sync_is_leader{" + nodeA + "}": "1x20"}},
	{name: "heartbeat failures", alert: "SyncHeartbeatFailures", evalTime: "5m", series: map[string]string{
		"sync_heartbeat_failures_total{" + nodeB + "}": "0+1x20"},
		want: []map[string]string{labelsOf(nodeB)}},
	{name: "no heartbeat failures", alert: "SyncHeartbeatFailures", evalTime: "5m", series: map[string]string{
		"sync_heartbeat_failures_total{" + nodeB + "}": "1x20"}},
	{name: "conflicts unresolved, none resolved ever", alert: "SyncConflictsUnresolved", evalTime: "16m", value: "2", series: map[string]string{
		"sync_conflicts_detected_total{" + nodeA + "}": "2x80"},
		want: []map[string]string{cluster}},
	{name: "conflicts resolved", alert: "SyncConflictsUnresolved", evalTime: "16m", series: map[string]string{
		"sync_conflicts_detected_total{" + nodeA + "}": "2x80", "sync_conflicts_resolved_total{" + nodeA + `,strategy="manual"}`: "2x80"}},
	{name: "lag", alert: "SyncReplicationLag", evalTime: "3m", series: map[string]string{
		"sync_replication_lag_seconds{" + nodeA + `,client="acme-corp"}`: "60x20", "sync_replication_lag_seconds{" + nodeA + `,client="beta-client"}`: "1x20"},
		want: []map[string]string{with(cluster, "client", "acme-corp")}},
	{name: "no lag", alert: "SyncReplicationLag", evalTime: "3m", series: map[string]string{
		"sync_replication_lag_seconds{" + nodeA + `,client="acme-corp"}`: "1x20"}},
	{name: "operations failing", alert: "SyncOperationsFailing", evalTime: "12m", series: map[string]string{
		"sync_operations_total{" + nodeA + `,status="failed"}`: "0+1x60", "sync_operations_total{" + nodeA + `,status="ok"}`: "0+1x60"},
		want: []map[string]string{cluster}},
	{name: "operations succeeding", alert: "SyncOperationsFailing", evalTime: "12m", series: map[string]string{
		"sync_operations_total{" + nodeA + `,status="failed"}`: "3x60", "sync_operations_total{" + nodeA + `,status="ok"}`: "0+1x60",
		"sync_operations_total{" + nodeA + `,status="fenced"}`: "0x20 1x40"}},
	{name: "node down", alert: "SyncNodeDown", evalTime: "2m", series: map[string]string{"up{" + nodeA + "}": "0x20", "up{" + nodeB + "}": "1x20"},
		want: []map[string]string{aLabels}},
	{name: "nodes up", alert: "SyncNodeDown", evalTime: "2m", series: map[string]string{"up{" + nodeA + "}": "1x20", "up{" + nodeB + "}": "1x20"}},
}

// The promtool unit test file format.
type promTests struct {
	RuleFiles          []string   `yaml:"rule_files"`
	EvaluationInterval string     `yaml:"evaluation_interval"`
	Tests              []promTest `yaml:"tests"`
}

type promTest struct {
	Name        string          `yaml:"name"`
	Interval    string          `yaml:"interval"`
	InputSeries []inputSeries   `yaml:"input_series"`
	AlertTests  []alertRuleTest `yaml:"alert_rule_test"`
}

type inputSeries struct {
	Series string `yaml:"series"`
	Values string `yaml:"values"`
}

type alertRuleTest struct {
	EvalTime  string     `yaml:"eval_time"`
	Alertname string     `yaml:"alertname"`
	ExpAlerts []expAlert `yaml:"exp_alerts"`
}

type expAlert struct {
	ExpLabels      map[string]string `yaml:"exp_labels"`
	ExpAnnotations map[string]string `yaml:"exp_annotations"`
}

// expand fills the annotation templates the way Prometheus will for these
// labels (the templates use only $labels.NAME and $value).
func expand(tmpl string, labels map[string]string, value string) string {
	for k, v := range labels {
		tmpl = strings.ReplaceAll(tmpl, "{{ $labels."+k+" }}", v)
	}
	return strings.ReplaceAll(tmpl, "{{ $value }}", value)
}

// TestPromtoolRules fires each alert from synthetic series with `promtool
// test rules` and keeps it silent on healthy ones; every alert has a case.
func TestPromtoolRules(t *testing.T) {
	out := writeRendered(t, "testdata/render/sync")
	rulesPath := filepath.Join(out, filepath.FromSlash(AlertRules))
	raw, err := os.ReadFile(rulesPath)
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	if err := yaml.Unmarshal(raw, &rf); err != nil {
		t.Fatal(err)
	}
	rules := map[string]rule{}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				rules[r.Alert] = r
			}
		}
	}
	fired := map[string]bool{}
	tests := promTests{RuleFiles: []string{filepath.Base(rulesPath)}, EvaluationInterval: "15s"}
	for _, c := range ruleCases {
		r, ok := rules[c.alert]
		if !ok {
			t.Fatalf("case %q: no alert %s in alerts.yml", c.name, c.alert)
		}
		pt := promTest{Name: c.name, Interval: c.interval}
		if pt.Interval == "" {
			pt.Interval = "15s"
		}
		names := make([]string, 0, len(c.series))
		for s := range c.series {
			names = append(names, s)
		}
		sort.Strings(names)
		for _, s := range names {
			pt.InputSeries = append(pt.InputSeries, inputSeries{Series: s, Values: c.series[s]})
		}
		at := alertRuleTest{EvalTime: c.evalTime, Alertname: c.alert, ExpAlerts: []expAlert{}}
		for _, l := range c.want {
			labels := with(l, "severity", r.Labels["severity"])
			ann := map[string]string{}
			for k, v := range r.Annotations {
				ann[k] = expand(v, labels, c.value)
			}
			at.ExpAlerts = append(at.ExpAlerts, expAlert{ExpLabels: labels, ExpAnnotations: ann})
			fired[c.alert] = true
		}
		pt.AlertTests = []alertRuleTest{at}
		tests.Tests = append(tests.Tests, pt)
	}
	for name := range rules {
		if !fired[name] {
			t.Errorf("alert %s has no case that fires it", name)
		}
	}
	data, err := yaml.Marshal(tests)
	if err != nil {
		t.Fatal(err)
	}
	testFile := filepath.Join(filepath.Dir(rulesPath), "alerts_test.yml")
	if err := os.WriteFile(testFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(promtool(t), "test", "rules", filepath.Base(testFile))
	cmd.Dir = filepath.Dir(testFile)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, b)
	}
}
