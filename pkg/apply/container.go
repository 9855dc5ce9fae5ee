package apply

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/quantabase/fleetctl/pkg/health"
	"github.com/quantabase/fleetctl/pkg/plan"
	"github.com/quantabase/fleetctl/pkg/resource"
)

// create makes a new client container and, when it should run, starts it and
// waits for its health check. A container that ran and failed is stopped (not
// removed), so the next plan retries it with a start and the operator can
// read its logs; one that did not even start is removed.
func (r *runner) create(ctx context.Context, a *plan.Action) error {
	id, err := r.eng.CreateContainer(ctx, r.container(a))
	if err != nil {
		return err
	}
	if !a.Start {
		return nil
	}
	if err := r.eng.StartContainer(ctx, id); err != nil {
		// Never started (a host port held by another process, say): no
		// Created container is left behind to confuse the next plan.
		if rerr := r.eng.RemoveContainer(ctx, id); rerr != nil {
			return fmt.Errorf("%w (and removing the container that did not start failed: %v)", err, rerr)
		}
		return err
	}
	if err := r.healthy(ctx, a.Object, a.Container, id); err != nil {
		if serr := r.eng.StopContainer(ctx, id, r.opt.StopTimeout); serr != nil {
			return withNote(err, "stopping it failed: %v", serr)
		}
		return err
	}
	return nil
}

// errOldNotRemoved: the replacement is up and healthy, only the parked old
// container is left (the next plan removes it). Callers treat it as done.
var errOldNotRemoved = errors.New("the new container is healthy, but removing the old one failed")

// recreate replaces a client's container stop-first: SQLite allows a single
// writer, so the old container is stopped before the new one starts, and it is
// kept (stopped, renamed to PreviousName) until the new one is healthy. If the
// new one fails, it is removed and the old one is renamed back and restarted.
// Every step is idempotent, so a recreate interrupted at any point is resumed
// by the next plan (see plan's handling of PreviousName).
func (r *runner) recreate(ctx context.Context, a *plan.Action) error {
	prev := a.PreviousID
	switch {
	case a.ExistingID != "" && !a.ExistingMatches && prev != "":
		// An interrupted recreate left a parked container, which was healthy
		// when it was parked, and a current one that never proved healthy:
		// drop the unproven one and keep the parked one to roll back to.
		if err := r.stopRemove(ctx, a.ExistingID); err != nil {
			return fmt.Errorf("remove unproven container of an interrupted recreate: %w", err)
		}
		if err := r.eng.StopContainer(ctx, prev, r.opt.StopTimeout); err != nil {
			return fmt.Errorf("stop parked container: %w", err)
		}
	case a.ExistingID != "" && !a.ExistingMatches:
		if err := r.eng.StopContainer(ctx, a.ExistingID, r.opt.StopTimeout); err != nil {
			return fmt.Errorf("stop old container: %w", err)
		}
		// Parked with restart policy "no": an engine or host restart must not
		// start it beside its replacement on the same volume.
		if err := r.eng.SetRestartPolicy(ctx, a.ExistingID, "no"); err != nil {
			return fmt.Errorf("park old container: %w", err)
		}
		if err := r.eng.RenameContainer(ctx, a.ExistingID, a.PreviousName); err != nil {
			return fmt.Errorf("park old container as %s: %w", a.PreviousName, err)
		}
		prev = a.ExistingID
	case prev != "":
		if err := r.eng.StopContainer(ctx, prev, r.opt.StopTimeout); err != nil {
			return fmt.Errorf("stop parked container: %w", err)
		}
	}

	id := a.ExistingID
	if !a.ExistingMatches {
		var err error
		if id, err = r.eng.CreateContainer(ctx, r.container(a)); err != nil {
			return r.restore(ctx, a, prev, "", fmt.Errorf("create new container: %w", err))
		}
	}
	if a.Start {
		if err := r.startHealthy(ctx, a, id); err != nil {
			return r.restore(ctx, a, prev, id, err)
		}
	}
	if prev != "" {
		if err := r.eng.RemoveContainer(ctx, prev); err != nil {
			return fmt.Errorf("%w (%s): %w", errOldNotRemoved, a.PreviousName, err)
		}
	}
	return nil
}

// restore undoes a failed recreate: the new container goes, the old one comes
// back under its name and, if the client should run, is started again.
func (r *runner) restore(ctx context.Context, a *plan.Action, prev, newID string, cause error) error {
	if newID != "" {
		if err := r.stopRemove(ctx, newID); err != nil {
			return withNote(cause, "removing the failed new container also failed: %v", err)
		}
	}
	if prev == "" {
		return cause
	}
	if err := r.eng.RenameContainer(ctx, prev, a.Object); err != nil {
		return withNote(cause, "restoring the old container failed: %v (it is kept as %s)", err, a.PreviousName)
	}
	if a.OldRestart != "" {
		if err := r.eng.SetRestartPolicy(ctx, prev, a.OldRestart); err != nil {
			return withNote(cause, "the old container was restored but its restart policy was not: %v", err)
		}
	}
	if a.Start {
		if err := r.eng.StartContainer(ctx, prev); err != nil {
			return withNote(cause, "the old container was restored but did not start: %v", err)
		}
		old := *a.Container
		if a.OldPort.HostPort != 0 {
			old.BindAddress, old.HostPort = a.OldPort.HostIP, a.OldPort.HostPort
		}
		if err := r.healthy(ctx, a.Object, &old, prev); err != nil {
			return withNote(cause, "the old container was restored but is not healthy: %v", err)
		}
	}
	return withNote(cause, "rolled back: the old container is restored and healthy")
}

func (r *runner) stopRemove(ctx context.Context, id string) error {
	if err := r.eng.StopContainer(ctx, id, r.opt.StopTimeout); err != nil {
		return err
	}
	return r.eng.RemoveContainer(ctx, id)
}

func (r *runner) startHealthy(ctx context.Context, a *plan.Action, id string) error {
	if err := r.eng.StartContainer(ctx, id); err != nil {
		return err
	}
	return r.healthy(ctx, a.Object, a.Container, id)
}

// healthy waits for the container's health gate (pkg/health): its endpoint
// must answer healthy before the timeout, and an exit or a restart fails it
// at once, with the last log lines, masked.
func (r *runner) healthy(ctx context.Context, name string, c *resource.Container, id string) error {
	g := health.Gate{
		Prober: health.Prober{HTTP: r.opt.HTTP, Host: r.opt.ProbeHost, AnyOK: c.Health.AnyOK},
		Engine: r.eng,
		Mask:   func(s string) string { return maskEnv(s, c) },
	}
	if lt, ok := r.eng.(health.LogTailer); ok {
		g.Logs = lt
	}
	_, err := g.Wait(ctx, health.Target{Name: name, ID: id, Bind: c.BindAddress, Port: c.HostPort,
		Path: c.Health.Path, Timeout: c.Health.Timeout, Interval: c.Health.Interval})
	return err
}

// maskEnv masks every sensitive value of the container's environment:
// applications do log their connection strings.
func maskEnv(out string, c *resource.Container) string {
	for _, e := range c.Env {
		if e.Sensitive && e.Value != "" {
			out = strings.ReplaceAll(out, e.Value, plan.Masked)
		}
	}
	return out
}

// withNote adds note to a failure: before the log lines of a failed health
// gate, so it is never glued to the end of the last one.
func withNote(cause error, format string, args ...any) error {
	note := fmt.Sprintf(format, args...)
	var f *health.Failure
	if errors.As(cause, &f) && f == cause {
		return f.WithNote(note)
	}
	return fmt.Errorf("%w; %s", cause, note)
}
