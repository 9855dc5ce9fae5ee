package apply

import (
	"context"
	"sort"
	"testing"

	"github.com/quantabase/fleetctl/pkg/plan"
)

// rolloutPlan is a rollout of names (the first the canary) where the
// clients in bad fail their health check.
func rolloutPlan(t *testing.T, f *fakeEngine, maxPar int, names []string, bad map[string]bool) *plan.Plan {
	t.Helper()
	good, broken := healthServer(t, true), healthServer(t, false)
	p := &plan.Plan{}
	r := plan.Rollout{ID: "rollout.x:v2", Image: "x:v2", MaxParallel: maxPar, Canary: []string{"container." + names[0]}}
	for i, n := range names {
		port := good
		if bad[n] {
			port = broken
		}
		a := ctrAction(plan.KindRecreateContainer, n, port)
		a.ExistingID, a.Rollout = f.add(n, "running"), r.ID
		if i > 0 {
			a.DependsOn = []string{r.Canary[0]}
		}
		r.Members = append(r.Members, a.ID)
		p.Actions = append(p.Actions, a)
	}
	p.Rollouts = []plan.Rollout{r}
	return p
}

func TestRolloutStopsAfterFailedCanary(t *testing.T) {
	f := newFake()
	p := rolloutPlan(t, f, 2, []string{"a", "b", "c", "d"}, map[string]bool{"a": true})
	res := Run(context.Background(), f, p, Options{})
	sort.Strings(res.Skipped)
	if res.Failed["container.a"] == nil || len(res.Done) != 0 || len(res.Skipped) != 3 {
		t.Fatalf("done %v failed %v skipped %v", res.Done, res.Failed, res.Skipped)
	}
	if res.Stopped["rollout.x:v2"] != "container.a" {
		t.Fatalf("stopped = %v", res.Stopped)
	}
}

func TestRolloutStartsNoMemberAfterAFailure(t *testing.T) {
	f := newFake()
	// One slot: after the canary, exactly one member runs, fails, and the
	// rest are never started.
	p := rolloutPlan(t, f, 1, []string{"a", "b", "c", "d", "e"}, map[string]bool{"b": true, "c": true, "d": true, "e": true})
	res := Run(context.Background(), f, p, Options{Parallelism: 8})
	if len(res.Done) != 1 || res.Done[0] != "container.a" || len(res.Failed) != 1 || len(res.Skipped) != 3 {
		t.Fatalf("done %v failed %v skipped %v", res.Done, res.Failed, res.Skipped)
	}
	for _, c := range f.containers {
		if c.state != "running" {
			t.Fatalf("a client was left %s: %+v", c.state, f.containers)
		}
	}
}

func TestRolloutBoundsParallelism(t *testing.T) {
	f := newFake()
	names := []string{"a", "b", "c", "d", "e", "f"}
	p := rolloutPlan(t, f, 2, names, nil)
	gates := newRolloutGates(p)
	if cap(gates["rollout.x:v2"].sem) != 2 {
		t.Fatal("gate size is not maxParallel")
	}
	if err := Run(context.Background(), f, p, Options{Parallelism: 8}).Err(); err != nil {
		t.Fatal(err)
	}
}
