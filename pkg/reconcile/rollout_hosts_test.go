package reconcile

import (
	"errors"
	"testing"

	"github.com/quantabase/fleetctl/pkg/apply"
	"github.com/quantabase/fleetctl/pkg/plan"
)

// A rollout across hosts: the members on another host than the canary wait
// for the second phase, and do not run when the canary failed.
func TestHostPhasesHoldMembersForTheirCanary(t *testing.T) {
	acts := []plan.Action{
		{ID: "container.a", Host: "h1", Rollout: "r"},
		{ID: "container.b", Host: "h1", Rollout: "r", DependsOn: []string{"container.a"}},
		{ID: "container.c", Host: "h2", Rollout: "r", DependsOn: []string{"container.a"}},
		{ID: "sites", Host: "h2", DependsOn: []string{"container.c"}},
		{ID: "container.x", Host: "h2"},
	}
	first, later := hostPhases(acts)
	if len(first) != 3 || len(later) != 2 || later[0].ID != "container.c" || later[1].ID != "sites" {
		t.Fatalf("first %v later %v", first, later)
	}
	res := &apply.Result{Failed: map[string]error{"container.a": errors.New("unhealthy")}, Skipped: []string{"container.b"},
		Stopped: map[string]string{"r": "container.a"}}
	if run := notFailedDeps(later, res); len(run) != 0 || len(res.Skipped) != 3 {
		t.Fatalf("run %v skipped %v", run, res.Skipped)
	}
	ok := &apply.Result{Failed: map[string]error{}, Done: []string{"container.a", "container.b", "container.x"}}
	if run := notFailedDeps(later, ok); len(run) != 2 {
		t.Fatalf("after a healthy canary: run %v", run)
	}
}
