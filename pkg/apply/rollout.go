package apply

import (
	"context"
	"fmt"

	"github.com/quantabase/fleetctl/pkg/plan"
)

// rolloutGate enforces a rollout's policy as the plan states it: at most
// MaxParallel members at once, and no member started once one has failed.
// The planner chose the members, the canaries and their order.
type rolloutGate struct {
	sem     chan struct{}
	stopped string // the first failed member ("" while none has)
}

func newRolloutGates(p *plan.Plan) map[string]*rolloutGate {
	if len(p.Rollouts) == 0 {
		return nil
	}
	g := make(map[string]*rolloutGate, len(p.Rollouts))
	for _, r := range p.Rollouts {
		g[r.ID] = &rolloutGate{sem: make(chan struct{}, max(r.MaxParallel, 1))}
	}
	return g
}

// enterRollout waits for a slot in the action's rollout; ok is false when
// the rollout has stopped (or the run is cancelled): the action is not run.
func (r *runner) enterRollout(ctx context.Context, a *plan.Action) (release func(), ok bool) {
	g := r.gates[a.Rollout]
	if g == nil {
		return func() {}, true
	}
	select {
	case g.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, false
	}
	r.mu.Lock()
	stopped := g.stopped != ""
	r.mu.Unlock()
	if stopped {
		<-g.sem
		return nil, false
	}
	return func() { <-g.sem }, true
}

// rolloutFailed stops the action's rollout; r.mu is held.
func (r *runner) rolloutFailed(a *plan.Action) {
	if g := r.gates[a.Rollout]; g != nil && g.stopped == "" {
		g.stopped = a.ID
		if r.res.Stopped == nil {
			r.res.Stopped = map[string]string{}
		}
		r.res.Stopped[a.Rollout] = a.ID
	}
}

// restart stops and starts a running container and waits for its health.
func (r *runner) restart(ctx context.Context, a *plan.Action) error {
	if err := r.eng.StopContainer(ctx, a.ExistingID, r.opt.StopTimeout); err != nil {
		return err
	}
	if err := r.eng.StartContainer(ctx, a.ExistingID); err != nil {
		return err
	}
	return r.healthy(ctx, a.Object, a.Container, a.ExistingID)
}

// volumeRemover is implemented by engines that can remove a volume.
type volumeRemover interface {
	RemoveVolume(ctx context.Context, name string) error
}

// removeVolume deletes a client's data volume (destroy --delete-data; the
// planner emitted it after the client's containers are gone).
func (r *runner) removeVolume(ctx context.Context, a *plan.Action) error {
	vr, ok := r.eng.(volumeRemover)
	if !ok {
		return fmt.Errorf("remove volume %s: this engine cannot remove volumes", a.Object)
	}
	return vr.RemoveVolume(ctx, a.Object)
}
