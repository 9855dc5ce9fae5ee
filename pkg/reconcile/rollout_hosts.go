package reconcile

import (
	"github.com/quantabase/fleetctl/pkg/apply"
	"github.com/quantabase/fleetctl/pkg/plan"
)

// Each host's share of a plan runs on its own executor, which takes a
// dependency outside its share as satisfied. A rollout across hosts would
// then start its members beside their canary on another host. So the
// actions that depend on one of another host (with everything that depends
// on them) wait for a second phase, which runs only what the first phase's
// outcome allows. Within a phase, maxParallel bounds each host's members.

// hostPhases splits acts into those that may start at once and those that
// wait for an action on another host.
func hostPhases(acts []plan.Action) (first, later []plan.Action) {
	host := make(map[string]string, len(acts))
	for _, a := range acts {
		host[a.ID] = a.Host
	}
	waits := map[string]bool{}
	for changed := true; changed; {
		changed = false
		for _, a := range acts {
			if waits[a.ID] {
				continue
			}
			for _, d := range a.DependsOn {
				if h, ok := host[d]; ok && (h != a.Host || waits[d]) {
					waits[a.ID], changed = true, true
					break
				}
			}
		}
	}
	for _, a := range acts {
		if waits[a.ID] {
			later = append(later, a)
		} else {
			first = append(first, a)
		}
	}
	return first, later
}

// notFailedDeps drops (as skipped, in res) the actions whose dependency
// did not succeed in the first phase, or whose rollout stopped there.
func notFailedDeps(later []plan.Action, res *apply.Result) []plan.Action {
	bad := map[string]bool{}
	for id := range res.Failed {
		bad[id] = true
	}
	for _, id := range res.Skipped {
		bad[id] = true
	}
	var run []plan.Action
	for changed := true; changed; {
		changed = false
		for _, a := range later {
			if bad[a.ID] {
				continue
			}
			_, stopped := res.Stopped[a.Rollout]
			if (a.Rollout != "" && stopped) || hasBad(a.DependsOn, bad) {
				bad[a.ID], changed = true, true
				res.Skipped = append(res.Skipped, a.ID)
			}
		}
	}
	for _, a := range later {
		if !bad[a.ID] {
			run = append(run, a)
		}
	}
	return run
}

func hasBad(deps []string, bad map[string]bool) bool {
	for _, d := range deps {
		if bad[d] {
			return true
		}
	}
	return false
}

// mergeResult adds more's outcome to total.
func mergeResult(total, more *apply.Result) {
	total.Done = append(total.Done, more.Done...)
	total.Skipped = append(total.Skipped, more.Skipped...)
	for id, err := range more.Failed {
		total.Failed[id] = err
	}
	for id, failed := range more.Stopped {
		if total.Stopped == nil {
			total.Stopped = map[string]string{}
		}
		total.Stopped[id] = failed
	}
}
