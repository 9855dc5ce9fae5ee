package watch

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/quantabase/fleetctl/pkg/apply"
	"github.com/quantabase/fleetctl/pkg/docker"
	"github.com/quantabase/fleetctl/pkg/observe"
	"github.com/quantabase/fleetctl/pkg/plan"
	"github.com/quantabase/fleetctl/pkg/reconcile"
	"github.com/quantabase/fleetctl/pkg/status"
)

// Results of a pass (label values of fleet_reconciles_total).
const (
	resultSuccess     = "success"
	resultFailure     = "failure"
	resultInvalidSpec = "invalid_spec"
	resultLocked      = "locked"
	resultError       = "error"
)

// pass runs one reconcile with the last valid spec, leaving out the clients
// in backoff, and records what happened.
func (d *Daemon) pass(ctx context.Context, trig string, since time.Time) {
	start := time.Now()
	d.sincePass = start
	d.recheckAt = time.Time{}
	d.m.triggers.WithLabelValues(trig).Inc()
	lag := 0.0
	if !since.IsZero() {
		lag = start.Sub(since).Seconds()
		d.m.detectionLag.Observe(lag)
	}
	rec := ReconcileRecord{Start: start, Trigger: trig}
	if d.spec == nil {
		rec.Result, rec.Message = resultInvalidSpec, errNoSpec.Error()
		d.finishPass(rec, start)
		return
	}
	rec.Excluded = d.backoff.excluded(start)
	d.log.Info("reconcile start", "trigger", trig, "since_trigger_seconds", lag, "excluded", rec.Excluded)

	opt := plan.Options{Exclude: rec.Excluded, HoldMigrations: true}
	out, err := d.cfg.Runner.Apply(ctx, d.spec, d.secrets, opt, func(p *plan.Plan) error {
		d.m.planDrift(p) // counted when found, before the actions run
		d.logHeld(p)
		return nil
	})
	if out != nil {
		d.m.lockWait.Observe(out.LockWait.Seconds())
	}
	switch {
	case errors.Is(err, docker.ErrLocked):
		d.m.lockWait.Observe(time.Since(start).Seconds())
		rec.Result, rec.Message = resultLocked, err.Error()
		d.scheduleRetry()
		d.log.Warn("fleet lock held by another process; will retry", "error", err.Error(),
			"waited_seconds", time.Since(start).Seconds())
	case err != nil:
		rec.Result, rec.Message = resultError, err.Error()
		if ctx.Err() == nil {
			d.scheduleRetry()
			d.checkDocker(ctx)
		}
		d.log.Error("reconcile failed", "error", err.Error())
	default:
		d.retryAt, d.retries = time.Time{}, 0
		d.outcome(ctx, out, &rec)
		d.scheduleRecheck(trig, rec.Actions)
		if ms := out.Plan.RequeueAfterMS; ms > 0 { // the planner saw something transient
			d.recheckAt = time.Now().Add(time.Duration(ms) * time.Millisecond)
		}
	}
	d.finishPass(rec, start)
}

func (d *Daemon) finishPass(rec ReconcileRecord, start time.Time) {
	rec.Duration = time.Since(start)
	d.m.reconciles.WithLabelValues(rec.Result).Inc()
	d.m.duration.Observe(rec.Duration.Seconds())
	d.m.backoffClients.Set(float64(len(d.backoff.excluded(time.Now()))))
	if rec.Result == resultSuccess {
		now := time.Now()
		d.m.lastSuccess.Set(float64(now.UnixNano()) / 1e9)
		d.status.update(func(s *Status) { s.LastSuccess = now })
	}
	d.status.record(rec)
	d.log.Info("reconcile done", "trigger", rec.Trigger, "result", rec.Result, "actions", rec.Actions,
		"failed", rec.Failed, "duration_seconds", rec.Duration.Seconds())
}

// checkDocker records whether the engine answers (a failed pass is often
// Docker being down), for the status page and fleet_docker_reachable.
func (d *Daemon) checkDocker(ctx context.Context) {
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	err := d.cfg.Engine.Ping(pctx)
	d.status.update(func(s *Status) {
		s.DockerOK, s.DockerError = err == nil, ""
		if err != nil {
			s.DockerError = err.Error()
		}
	})
	if err != nil {
		d.m.dockerReachable.Set(0)
	}
}

// scheduleRetry retries a pass that could not run, doubling the delay up to
// the resync period so a down engine is not hammered.
func (d *Daemon) scheduleRetry() {
	delay := d.cfg.Retry
	for i := 0; i < d.retries && delay < d.cfg.Resync; i++ {
		delay *= 2
	}
	d.retries++
	d.retryAt = time.Now().Add(min(delay, d.cfg.Resync))
}

// logHeld warns about the migrations the plan held back
// and moves (Options.HoldMigrations): a migration stops the client and moves its
// data, so an operator starts it with `fleetctl apply` rather than the daemon
// on a file edit. The drift stays visible (metric, log) until then.
func (d *Daemon) logHeld(p *plan.Plan) {
	for _, h := range p.Held {
		if h.Kind == plan.KindMoveClient {
			d.log.Warn("client move pending: run 'fleetctl apply' to move this client (it stops the client while its data is copied)",
				"client", h.Client, "object", h.Object, "reason", h.Reason)
			continue
		}
		d.log.Warn("database migration pending: run 'fleetctl apply' to migrate this client (it stops the client while its data is copied)",
			"client", h.Client, "object", h.Object)
	}
}

// scheduleRecheck looks again shortly after an event-triggered pass that
// found nothing to do, in case the engine's view lagged behind its event.
func (d *Daemon) scheduleRecheck(trig string, actions int) {
	if (trig != trigDocker && trig != trigRecheck) || actions > 0 {
		d.rechecks = 0
		return
	}
	if trig == trigDocker {
		d.rechecks = 0
	}
	if d.rechecks >= maxRechecks {
		return
	}
	d.recheckAt = time.Now().Add(500 * time.Millisecond << d.rechecks)
	d.rechecks++
}

// outcome turns an applied plan into backoff, status and metrics.
func (d *Daemon) outcome(ctx context.Context, out *reconcile.Outcome, rec *ReconcileRecord) {
	p := out.Plan
	rec.Actions = len(p.Actions)
	now := time.Now()
	failed := map[string]string{} // client → error
	changed := map[string]string{}
	if res := out.Result; res != nil {
		for id, err := range res.Failed {
			if a := p.Action(id); a != nil {
				for _, c := range clientsOf(p, a) {
					failed[c] = a.Object + ": " + err.Error()
				}
			}
		}
		if ctx.Err() == nil { // skipped because a dependency failed, not because we are stopping
			for _, id := range res.Skipped {
				if a := p.Action(id); a != nil && a.Client != "" && failed[a.Client] == "" {
					failed[a.Client] = a.Object + ": " + apply.ErrSkipped.Error()
				}
			}
		}
		for _, id := range res.Done {
			if a := p.Action(id); a != nil && a.Client != "" && strings.HasPrefix(a.ID, "container.") {
				changed[a.Client] = string(a.Kind) + ": " + joinCauses(a.Causes)
			}
		}
		rec.Failed = len(res.Failed)
	}
	conflicts := map[string]string{}
	for _, c := range p.Conflicts {
		conflicts[c.Client] = c.Message
	}
	// A client down with no action (a crash loop whose container matches
	// fleet.yaml) fails like a failed action: it backs off, and its error
	// shows on the status page.
	for _, dn := range p.Down {
		if dn.Action == "" && failed[dn.Client] == "" {
			failed[dn.Client] = dn.Container + ": " + dn.Message
		}
	}
	for i := range d.spec.Clients {
		name := d.spec.Clients[i].Name
		if slices.Contains(rec.Excluded, name) {
			continue
		}
		if msg, ok := failed[name]; ok {
			wait := d.backoff.fail(name, now)
			d.log.Warn("client backing off", "client", name, "failures", d.backoff.failures(name),
				"retry_in_seconds", wait.Seconds())
			d.setClientError(name, msg, now)
			continue
		}
		d.backoff.succeed(name)
		if msg, ok := conflicts[name]; ok {
			d.setClientError(name, "conflict: "+msg, now)
		} else if what, ok := changed[name]; ok {
			d.setClientChange(name, what, now)
		}
	}
	rec.Result = resultSuccess
	if len(failed) > 0 || rec.Failed > 0 { // an action no client owns failing still fails the pass
		rec.Result = resultFailure
	}
	st := out.State
	if ctx.Err() == nil && (len(p.Actions) > 0 || st == nil) {
		// The snapshot was taken before apply; look again.
		if fresh, err := d.cfg.Runner.Observe(ctx, d.spec); err == nil {
			st = fresh
		}
	}
	if st != nil && ctx.Err() == nil {
		d.refreshClients(ctx, st)
		d.m.setHosts(st.Hosts) // hosts.go
	}
}

// clientsOf is the clients an action belongs to: its own, or for an image
// pull every client whose container waited on it.
func clientsOf(p *plan.Plan, a *plan.Action) []string {
	if a.Client != "" {
		return []string{a.Client}
	}
	var out []string
	for _, ch := range a.Sites { // a sites batch: the clients whose files it carried
		if ch.Client != "" && !slices.Contains(out, ch.Client) {
			out = append(out, ch.Client)
		}
	}
	if len(out) > 0 {
		return out
	}
	for i := range p.Actions {
		if slices.Contains(p.Actions[i].DependsOn, a.ID) && p.Actions[i].Client != "" {
			out = append(out, p.Actions[i].Client)
		}
	}
	return out
}

// refreshClients rebuilds the client table (and the clients gauge) from a
// snapshot: the same rows `fleetctl status` prints (pkg/status), with the
// daemon's own history added.
func (d *Daemon) refreshClients(_ context.Context, st *observe.State) {
	spec := d.spec
	rs := status.Rows(spec, st, nil)
	rows := make([]ClientStatus, len(rs))
	for i, r := range rs {
		rows[i] = ClientStatus{Name: r.Client, Container: r.Container, State: r.State, Health: r.Health, Gate: r.Gate,
			Restarts: r.Restarts, Down: r.Down, Port: r.Port, Domain: r.Domain, Image: r.Image, Database: r.Database}
	}
	d.m.setClients(rows)
	d.status.update(func(s *Status) {
		old := make(map[string]ClientStatus, len(s.Clients))
		for _, c := range s.Clients {
			old[c.Name] = c
		}
		for i := range rows {
			o := old[rows[i].Name]
			rows[i].LastChange, rows[i].LastChangeWhat = o.LastChange, o.LastChangeWhat
			rows[i].LastError, rows[i].LastErrorAt = o.LastError, o.LastErrorAt
			rows[i].BackoffUntil = d.backoff.until(rows[i].Name)
			rows[i].Failures = d.backoff.failures(rows[i].Name)
		}
		s.Clients = rows
		s.DockerOK, s.DockerError = true, ""
	})
	d.m.dockerReachable.Set(1)
}

func (d *Daemon) setClientError(name, msg string, at time.Time) {
	d.status.update(func(s *Status) {
		c := clientRow(s, name)
		c.LastError, c.LastErrorAt = msg, at
	})
}

func (d *Daemon) setClientChange(name, what string, at time.Time) {
	d.status.update(func(s *Status) {
		c := clientRow(s, name)
		c.LastChange, c.LastChangeWhat = at, what
		c.LastError, c.LastErrorAt = "", time.Time{}
	})
}

// clientRow finds (or adds) a client's row; refreshClients fills the rest.
func clientRow(s *Status, name string) *ClientStatus {
	for i := range s.Clients {
		if s.Clients[i].Name == name {
			return &s.Clients[i]
		}
	}
	s.Clients = append(s.Clients, ClientStatus{Name: name})
	return &s.Clients[len(s.Clients)-1]
}

func joinCauses(cs []string) string { return strings.Join(cs, "; ") }
