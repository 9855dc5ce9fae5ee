package apply

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/quantabase/fleetctl/pkg/plan"
)

// Options tune a run.
type Options struct {
	// Parallelism bounds how many actions run at once (default 4).
	Parallelism int
	// ProbeHost is where published ports are reached for health checks
	// (default 127.0.0.1).
	ProbeHost string
	// StopTimeout is the grace period given to a container on stop (default 10s).
	StopTimeout time.Duration
	// Progress, when set, receives an event as each action starts and ends.
	// It is called from several goroutines, one event at a time.
	Progress func(Event)
	// HTTP is the client used for health checks (default: 2s timeout).
	HTTP *http.Client
	// Proxy applies sync-sites actions (nil when fleet.yaml has no proxy).
	Proxy Proxy
	// Migration runs migrate-database actions (migrate.go).
	Migration MigrationOptions
	// Sync runs provision-sync actions (nil when fleet.yaml has no sync).
	Sync SyncProvisioner
	// Move runs move-client actions (move.go).
	Move MoveOptions
	// Monitoring writes the monitoring files and reloads Prometheus
	// (monitoring.go; nil when fleet.yaml does not deploy monitoring).
	Monitoring Monitoring
}

// SyncProvisioner creates the sync nodes' role and schemas in the target;
// the CLI wires pkg/replicate behind it.
type SyncProvisioner interface {
	ProvisionSync(ctx context.Context, p plan.SyncProvision) error
}

// Phase of an action in an Event.
type Phase string

const (
	PhaseStart   Phase = "start"
	PhaseDone    Phase = "done"
	PhaseFailed  Phase = "failed"
	PhaseSkipped Phase = "skipped"
)

// Event reports the progress of one action.
type Event struct {
	Action   *plan.Action
	Phase    Phase
	Err      error
	Duration time.Duration
}

// Result says what a run did.
type Result struct {
	Done    []string         `json:"done"`
	Failed  map[string]error `json:"-"`
	Skipped []string         `json:"skipped"`
	// Stopped maps each rollout that stopped to its first failed action;
	// its members in Skipped kept their old image (rollout.go).
	Stopped map[string]string `json:"-"`
}

// Err aggregates every failure (nil when all actions succeeded).
func (r *Result) Err() error {
	var all *multierror.Error
	ids := make([]string, 0, len(r.Failed))
	for id := range r.Failed {
		ids = append(ids, id)
	}
	sort.Strings(ids) // stable output from run to run
	for _, id := range ids {
		all = multierror.Append(all, fmt.Errorf("%s: %w", id, r.Failed[id]))
	}
	for _, id := range r.Skipped {
		all = multierror.Append(all, fmt.Errorf("%s: %w", id, ErrSkipped))
	}
	if all == nil {
		return nil
	}
	all.ErrorFormat = listErrors
	return all
}

// ErrSkipped marks an action not run because a dependency failed or the run
// was cancelled before it started.
var ErrSkipped = errors.New("not run: a dependency failed or the run was interrupted")

func listErrors(es []error) string {
	s := fmt.Sprintf("%d action(s) did not complete:", len(es))
	for _, e := range es {
		s += "\n  * " + e.Error()
	}
	return s
}

// Run executes p. Cancelling ctx stops new actions from starting; an action
// already under way finishes (or rolls back) so no client is left half
// replaced. Run never returns early on a failed action: independent actions
// still run, and every failure is in the Result.
func Run(ctx context.Context, eng Engine, p *plan.Plan, opt Options) *Result {
	opt = withDefaults(opt)
	r := &runner{eng: eng, opt: opt, done: map[string]chan struct{}{}, ok: map[string]bool{},
		res: &Result{Failed: map[string]error{}}, sem: make(chan struct{}, opt.Parallelism),
		gates: newRolloutGates(p)}
	for i := range p.Actions {
		r.done[p.Actions[i].ID] = make(chan struct{})
	}
	var wg sync.WaitGroup
	for i := range p.Actions {
		a := &p.Actions[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(r.done[a.ID])
			r.run(ctx, a)
		}()
	}
	wg.Wait()
	return r.res
}

func withDefaults(o Options) Options {
	if o.Parallelism <= 0 {
		o.Parallelism = 4
	}
	if o.ProbeHost == "" {
		o.ProbeHost = "127.0.0.1"
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = 10 * time.Second
	}
	if o.HTTP == nil {
		o.HTTP = &http.Client{Timeout: 2 * time.Second}
	}
	return o
}

type runner struct {
	eng  Engine
	opt  Options
	sem  chan struct{}
	done map[string]chan struct{}
	mu   sync.Mutex // guards ok, res and Progress calls
	ok   map[string]bool
	res  *Result
	// gates hold each rollout's slots and stop (rollout.go).
	gates map[string]*rolloutGate
}

func (r *runner) run(ctx context.Context, a *plan.Action) {
	for _, dep := range a.DependsOn {
		ch, known := r.done[dep]
		if !known {
			continue // a dependency outside the plan (targeted run) is satisfied
		}
		<-ch
		if !r.succeeded(dep) {
			r.finish(a, PhaseSkipped, nil, 0)
			return
		}
	}
	release, ok := r.enterRollout(ctx, a) // rollout.go
	if !ok {
		r.finish(a, PhaseSkipped, nil, 0)
		return
	}
	defer release()
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		r.finish(a, PhaseSkipped, nil, 0)
		return
	}
	defer func() { <-r.sem }()
	if ctx.Err() != nil {
		r.finish(a, PhaseSkipped, nil, 0)
		return
	}
	r.emit(Event{Action: a, Phase: PhaseStart})
	start := time.Now()
	// Detached from ctx: once started, an action completes or rolls back.
	err := r.exec(context.WithoutCancel(ctx), a)
	if err != nil {
		r.finish(a, PhaseFailed, err, time.Since(start))
		return
	}
	r.finish(a, PhaseDone, nil, time.Since(start))
}

func (r *runner) succeeded(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ok[id]
}

func (r *runner) finish(a *plan.Action, ph Phase, err error, d time.Duration) {
	r.mu.Lock()
	switch ph {
	case PhaseDone:
		r.ok[a.ID] = true
		r.res.Done = append(r.res.Done, a.ID)
	case PhaseFailed:
		r.res.Failed[a.ID] = err
		r.rolloutFailed(a)
	case PhaseSkipped:
		r.res.Skipped = append(r.res.Skipped, a.ID)
	}
	r.mu.Unlock()
	r.emit(Event{Action: a, Phase: ph, Err: err, Duration: d})
}

func (r *runner) emit(e Event) {
	if r.opt.Progress == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.opt.Progress(e)
}

// exec maps one action onto engine calls.
func (r *runner) exec(ctx context.Context, a *plan.Action) error {
	if err := r.execKind(ctx, a); err != nil {
		return err
	}
	return r.monitoringStarted(a) // monitoring.go
}

func (r *runner) execKind(ctx context.Context, a *plan.Action) error {
	switch a.Kind {
	case plan.KindPullImage:
		return r.eng.PullImage(ctx, a.Image)
	case plan.KindCreateVolume:
		return r.eng.EnsureVolume(ctx, *a.Volume)
	case plan.KindCreateContainer:
		return r.create(ctx, a)
	case plan.KindRecreateContainer:
		return r.recreate(ctx, a)
	case plan.KindStartContainer:
		if err := r.eng.StartContainer(ctx, a.ExistingID); err != nil {
			return err
		}
		return r.healthy(ctx, a.Object, a.Container, a.ExistingID)
	case plan.KindStopContainer:
		return r.eng.StopContainer(ctx, a.ExistingID, r.opt.StopTimeout)
	case plan.KindRestartContainer:
		return r.restart(ctx, a) // rollout.go
	case plan.KindRemoveVolume:
		return r.removeVolume(ctx, a) // rollout.go
	case plan.KindRemoveContainer:
		if err := r.eng.StopContainer(ctx, a.ExistingID, r.opt.StopTimeout); err != nil {
			return err
		}
		return r.eng.RemoveContainer(ctx, a.ExistingID)
	case plan.KindSyncSites:
		return r.syncSites(ctx, a) // proxy.go
	case plan.KindMigrateDatabase:
		return r.migrate(ctx, a) // migrate.go
	case plan.KindProvisionSync:
		if r.opt.Sync == nil || a.SyncProvision == nil {
			return errors.New("provision sync: no provisioner configured")
		}
		return r.opt.Sync.ProvisionSync(ctx, *a.SyncProvision)
	case plan.KindMoveClient:
		return r.move(ctx, a) // move.go
	case plan.KindWriteMonitoring, plan.KindReloadPrometheus:
		return r.monitoring(ctx, a) // monitoring.go
	}
	return fmt.Errorf("unknown action kind %q", a.Kind)
}
