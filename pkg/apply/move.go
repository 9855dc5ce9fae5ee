package apply

import (
	"context"
	"errors"
	"fmt"

	"github.com/quantabase/fleetctl/pkg/plan"
)

// MoveOptions give the executor what a move-client action needs beyond the
// engine it runs on (the new host's): the old host's engine and the copy of
// a volume between two hosts (pkg/backup, wired by the caller).
type MoveOptions struct {
	// Engine returns the engine of another host of the fleet.
	Engine func(host string) (Engine, error)
	// Copy streams m.Volume from host m.From into the (existing, empty)
	// volume of the same name on host m.To and verifies every checksum.
	Copy func(ctx context.Context, m *plan.Move) error
}

// move runs a move-client action: exactly the planner's steps, in order.
// A failure before the old container is removed puts the client back on
// its old host: the new container and volume are removed and the old
// container is started again.
func (r *runner) move(ctx context.Context, a *plan.Action) error {
	m := a.Move
	if m == nil || r.opt.Move.Engine == nil || r.opt.Move.Copy == nil {
		return fmt.Errorf("move %s: this run cannot reach both hosts' engines", a.Client)
	}
	old, err := r.opt.Move.Engine(m.From)
	if err != nil {
		return fmt.Errorf("move %s: host %s: %w", a.Client, m.From, err)
	}
	newID := ""
	volumeMade := false
	undo := func(step string, cause error) error {
		bg := context.WithoutCancel(ctx)
		var errs []error
		if newID != "" {
			errs = append(errs, r.eng.RemoveContainer(bg, newID))
		}
		if volumeMade {
			if vr, ok := r.eng.(volumeRemover); ok {
				errs = append(errs, vr.RemoveVolume(bg, m.Volume))
			}
		}
		if a.ExistingID != "" && m.OldRunning {
			errs = append(errs, old.StartContainer(bg, a.ExistingID))
		}
		err := fmt.Errorf("move %s from host %s to host %s, step %s: %w", a.Client, m.From, m.To, step, cause)
		if uerr := errors.Join(errs...); uerr != nil {
			return withNote(err, "putting the client back on host %s failed: %v", m.From, uerr)
		}
		return withNote(err, "the client was put back on host %s (its container started again, the new objects removed)", m.From)
	}
	for _, s := range m.Steps {
		switch s.Step {
		case plan.MoveStepStop:
			if a.ExistingID != "" {
				if err := old.StopContainer(ctx, a.ExistingID, r.opt.StopTimeout); err != nil {
					return undo(s.Step, err)
				}
			}
		case plan.MoveStepCopy:
			if a.Volume != nil {
				if err := r.eng.EnsureVolume(ctx, *a.Volume); err != nil {
					return undo(s.Step, err)
				}
				volumeMade = true
			}
			if err := r.opt.Move.Copy(ctx, m); err != nil {
				return undo(s.Step, err)
			}
		case plan.MoveStepCreate:
			if newID, err = r.eng.CreateContainer(ctx, *a.Container); err != nil {
				return undo(s.Step, err)
			}
		case plan.MoveStepHealth:
			if !a.Start {
				continue
			}
			if err := r.eng.StartContainer(ctx, newID); err != nil {
				return undo(s.Step, err)
			}
			if err := r.healthy(ctx, a.Object, a.Container, newID); err != nil {
				return undo(s.Step, err)
			}
		case plan.MoveStepSwitch:
			// The sync-sites action depends on this one.
		case plan.MoveStepRemove:
			if a.ExistingID != "" {
				if err := old.RemoveContainer(ctx, a.ExistingID); err != nil {
					return fmt.Errorf("move %s: the client runs healthy on host %s, but removing its old container on host %s failed: %w", a.Client, m.To, m.From, err)
				}
			}
		default:
			return undo(s.Step, fmt.Errorf("unknown move step %q", s.Step))
		}
	}
	return nil
}
