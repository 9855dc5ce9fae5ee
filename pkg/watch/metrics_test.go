package watch

import (
	"bytes"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/quantabase/fleetctl/pkg/apply"
	"github.com/quantabase/fleetctl/pkg/plan"
)

// requireTool fails (never silently skips) when a CI tool is missing, unless
// FLEETCTL_SKIP_DOCKER=1 (the unit-only run).
func requireTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("FLEETCTL_SKIP_DOCKER") == "1" {
		t.Skipf("%s not installed and FLEETCTL_SKIP_DOCKER=1", name)
	}
	t.Fatalf("%s is needed (apt-get install -y %s; .ci/run installs it)", name, pkg)
	return ""
}

// TestMetricsExposition fills every metric and checks the exposition with
// promtool: names, help, types and units follow Prometheus conventions.
func TestMetricsExposition(t *testing.T) {
	promtool := requireTool(t, "promtool", "prometheus")
	m := NewMetrics()
	a := &plan.Action{ID: "container.a", Kind: plan.KindRecreateContainer, Client: "a", Causes: []string{"env WEBUI_NAME changed"}}
	m.planDrift(&plan.Plan{Actions: []plan.Action{*a, {ID: "volume.b", Kind: plan.KindCreateVolume}}})
	m.action(apply.Event{Action: a, Phase: apply.PhaseDone, Duration: time.Second})
	m.action(apply.Event{Action: a, Phase: apply.PhaseFailed, Err: errors.New("x")})
	m.setClients([]ClientStatus{{State: "running", Health: "healthy"}, {State: "absent", Health: "-"}})
	m.reconciles.WithLabelValues(resultSuccess).Inc()
	m.duration.Observe(.4)
	m.lockWait.Observe(.01)
	m.lastSuccess.Set(float64(time.Now().Unix()))
	m.specValid.Set(1)
	m.triggers.WithLabelValues(trigDocker).Inc()
	m.dockerEvents.WithLabelValues("die").Inc()
	m.detectionLag.Observe(.1)

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, name := range []string{
		`fleet_reconciles_total{result="success"} 1`,
		"fleet_reconcile_duration_seconds_bucket",
		`fleet_actions_total{kind="recreate-container",result="done"} 1`,
		`fleet_drift_detected_total{kind="config_changed"} 1`,
		`fleet_drift_detected_total{kind="volume_missing"} 1`,
		`fleet_clients{health="healthy",state="running"} 1`,
		`fleet_clients{health="unknown",state="absent"} 1`,
		"fleet_last_successful_reconcile_timestamp_seconds",
		"fleet_spec_valid 1",
		"fleet_lock_wait_seconds_bucket",
		"process_resident_memory_bytes",
	} {
		if !strings.Contains(body, name) {
			t.Errorf("exposition lacks %s", name)
		}
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewBufferString(body)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

func TestDriftKind(t *testing.T) {
	tests := []struct {
		kind  plan.Kind
		cause string
		want  string
	}{
		{plan.KindCreateContainer, "container missing", "container_missing"},
		{plan.KindRecreateContainer, "env WEBUI_NAME changed", "config_changed"},
		{plan.KindRecreateContainer, "container missing; an interrupted recreate left x.previous", "interrupted_recreate"},
		{plan.KindRecreateContainer, "adopt container created outside fleetctl (--adopt)", "adopt"},
		{plan.KindStartContainer, "container is exited, desired running", "container_not_running"},
		{plan.KindStopContainer, "state: stopped in fleet.yaml", "container_running"},
		{plan.KindRemoveContainer, "client removed", "orphan"},
		{plan.KindPullImage, "image not present locally", "image_missing"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := driftKind(&plan.Action{Kind: tt.kind, Causes: []string{tt.cause}}); got != tt.want {
				t.Fatalf("driftKind = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestStateLabelIsAFixedSet(t *testing.T) {
	for in, want := range map[string]string{
		"running": "running", "crash-looping (5 restarts)": "crash-looping", "crash-looping (6 restarts)": "crash-looping",
		"exited (code 3)": "exited", "absent": "absent", "something new": "other",
	} {
		if got := stateLabel(in); got != want {
			t.Errorf("stateLabel(%q) = %q, want %q", in, got, want)
		}
	}
}
