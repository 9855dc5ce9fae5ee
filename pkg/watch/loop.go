package watch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/quantabase/fleetctl/pkg/apply"
	"github.com/quantabase/fleetctl/pkg/docker"
	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/observe"
	"github.com/quantabase/fleetctl/pkg/plan"
	"github.com/quantabase/fleetctl/pkg/reconcile"
)

// Reconciler runs one observe → plan → apply pass under the fleet lock;
// *reconcile.Runner implements it.
type Reconciler interface {
	Apply(ctx context.Context, spec *fleet.Spec, secrets fleet.Secrets, opt plan.Options, approve reconcile.Approve) (*reconcile.Outcome, error)
	Observe(ctx context.Context, spec *fleet.Spec) (*observe.State, error)
}

// Engine is what the daemon asks Docker itself; *docker.Client implements it.
type Engine interface {
	Events(ctx context.Context, fleet string) (<-chan docker.Event, <-chan error)
	Ping(ctx context.Context) error
}

// Config wires a Daemon. Zero durations take the defaults in brackets.
type Config struct {
	// Path is fleet.yaml.
	Path   string
	Runner Reconciler
	Engine Engine
	// ProbeHost is where client ports are reached for the status page's
	// health column (default 127.0.0.1).
	ProbeHost string
	// Resync is the period of full passes without any trigger [30s].
	Resync time.Duration
	// FileQuiet and FileMax debounce fleet.yaml edits [300ms, 2s].
	FileQuiet, FileMax time.Duration
	// EventQuiet and EventMax debounce Docker events [100ms, 500ms].
	EventQuiet, EventMax time.Duration
	// BackoffBase and BackoffMax bound a failing client's backoff [5s, 5m].
	BackoffBase, BackoffMax time.Duration
	// Retry is how soon a pass that could not run (lock held elsewhere,
	// Docker unreachable) is tried again [1s]; it doubles up to Resync.
	Retry   time.Duration
	Logger  *slog.Logger
	Metrics *Metrics
	// Resolve reads the spec's secrets (default fleet.Resolver next to fleet.yaml).
	Resolve func(*fleet.Spec) (fleet.Secrets, error)
	Version string
	// Backup, when set, takes the scheduled backups of backups.schedule.
	Backup BackupFunc
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.Resync, 30*time.Second)
	def(&c.FileQuiet, 300*time.Millisecond)
	def(&c.FileMax, 2*time.Second)
	def(&c.EventQuiet, 100*time.Millisecond)
	def(&c.EventMax, 500*time.Millisecond)
	def(&c.BackoffBase, 5*time.Second)
	def(&c.BackoffMax, 5*time.Minute)
	def(&c.Retry, time.Second)
	if c.ProbeHost == "" {
		c.ProbeHost = "127.0.0.1"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Metrics == nil {
		c.Metrics = NewMetrics()
	}
	if c.Resolve == nil {
		c.Resolve = func(s *fleet.Spec) (fleet.Secrets, error) {
			return fleet.Resolver{BaseDir: dirOf(s.Path)}.Resolve(s)
		}
	}
	return c
}

// Trigger names why a pass runs (a label value of fleet_reconcile_triggers_total).
const (
	trigStart   = "start"
	trigFile    = "file"
	trigDocker  = "docker"
	trigResync  = "resync"
	trigSighup  = "sighup"
	trigBackoff = "backoff"
	trigRetry   = "retry"
	// trigRecheck follows a Docker event that found nothing to do: the
	// engine sends "die" before its container list says the container
	// stopped, so the first look can be stale.
	trigRecheck = "recheck"
)

// maxRechecks bounds the follow-up passes of one event (at 0.5s, 1s, 2s).
const maxRechecks = 3

// Daemon keeps one fleet converged. Create it with New, start it with Run.
type Daemon struct {
	cfg    Config
	log    *slog.Logger
	m      *Metrics
	status statusStore

	notify  chan struct{}
	mu      sync.Mutex // guards pending and files
	pending []pushed
	files   map[string]bool // absolute paths whose changes reload the spec

	// Owned by the Run goroutine.
	spec      *fleet.Spec
	secrets   fleet.Secrets
	invalid   bool // the last load of fleet.yaml failed
	backoff   *backoff
	fileDeb   *debouncer
	eventDeb  *debouncer
	retryAt   time.Time
	retries   int
	recheckAt time.Time
	rechecks  int
	watcher   *fsnotify.Watcher
	dirs      map[string]bool
	warned    map[string]bool // directories already reported as unwatchable
	events    sync.Once
	runCtx    context.Context
	sincePass time.Time
}

type pushed struct {
	kind string
	at   time.Time
}

// New returns a daemon for cfg; nothing runs until Run.
func New(cfg Config) *Daemon {
	cfg = cfg.withDefaults()
	d := &Daemon{
		cfg: cfg, log: cfg.Logger, m: cfg.Metrics,
		notify:   make(chan struct{}, 1),
		files:    map[string]bool{},
		dirs:     map[string]bool{},
		warned:   map[string]bool{},
		backoff:  newBackoff(cfg.BackoffBase, cfg.BackoffMax),
		fileDeb:  newDebouncer(cfg.FileQuiet, cfg.FileMax),
		eventDeb: newDebouncer(cfg.EventQuiet, cfg.EventMax),
	}
	now := time.Now()
	d.status.update(func(s *Status) { s.SpecPath, s.Started, s.Version = cfg.Path, now, cfg.Version })
	return d
}

// Trigger asks for a pass now, reloading fleet.yaml first (SIGHUP).
func (d *Daemon) Trigger() { d.push(trigSighup, time.Now()) }

// push hands a trigger from any goroutine to the Run loop.
func (d *Daemon) push(kind string, at time.Time) {
	d.mu.Lock()
	d.pending = append(d.pending, pushed{kind, at})
	d.mu.Unlock()
	select {
	case d.notify <- struct{}{}:
	default:
	}
}

// Run loads the spec, runs a first pass, then reconciles on every trigger
// until ctx ends. A pass under way when ctx ends is not abandoned: actions
// already started finish or roll back (apply.Run's guarantee) and Run
// returns once the pass has released the lock. Bounding that wait is the
// caller's job (fleetctl watch --shutdown-timeout).
func (d *Daemon) Run(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch %s: %w", d.cfg.Path, err)
	}
	d.watcher = w
	d.runCtx = ctx
	defer w.Close()
	go d.watchFiles(ctx, w)
	if d.cfg.Backup != nil {
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); d.backupLoop(ctx) }()
		defer wg.Wait()
	}

	d.reload()
	immediate, reload := trigStart, false
	var since time.Time
	resyncAt := time.Now().Add(d.cfg.Resync)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if ctx.Err() != nil {
			return nil
		}
		now := time.Now()
		trig := immediate
		if first, ok := d.fileDeb.fire(now); ok {
			trig, reload, since = trigFile, true, earliest(since, first)
		}
		if first, ok := d.eventDeb.fire(now); ok && trig == "" {
			trig, since = trigDocker, earliest(since, first)
		} else if ok {
			since = earliest(since, first)
		}
		if trig == "" && !d.retryAt.IsZero() && !now.Before(d.retryAt) {
			trig = trigRetry
		}
		if trig == "" && !d.recheckAt.IsZero() && !now.Before(d.recheckAt) {
			trig = trigRecheck
		}
		if t, ok := d.backoff.next(d.sincePass); trig == "" && ok && !now.Before(t) {
			trig = trigBackoff
		}
		if trig == "" && !now.Before(resyncAt) {
			trig = trigResync
		}
		if trig != "" {
			// A resync reloads too: a watch can be lost (the directory was
			// replaced, inotify dropped it) and the file must still be seen.
			if reload || trig == trigSighup || trig == trigResync {
				d.reload()
			}
			d.pass(ctx, trig, since)
			immediate, reload, since = "", false, time.Time{}
			resyncAt = time.Now().Add(d.cfg.Resync)
			continue
		}

		wake := resyncAt
		for _, t := range d.deadlines(now) {
			if t.Before(wake) {
				wake = t
			}
		}
		timer.Reset(max(time.Until(wake), time.Millisecond))
		select {
		case <-ctx.Done():
			return nil
		case <-d.notify:
			immediate, reload = d.drain(immediate, reload)
		case <-timer.C:
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// deadlines are the moments the loop must wake for besides the resync.
func (d *Daemon) deadlines(now time.Time) []time.Time {
	var ts []time.Time
	if t, ok := d.fileDeb.deadline(); ok {
		ts = append(ts, t)
	}
	if t, ok := d.eventDeb.deadline(); ok {
		ts = append(ts, t)
	}
	if !d.retryAt.IsZero() {
		ts = append(ts, d.retryAt)
	}
	if !d.recheckAt.IsZero() {
		ts = append(ts, d.recheckAt)
	}
	if t, ok := d.backoff.next(d.sincePass); ok {
		ts = append(ts, t)
	}
	return ts
}

// drain moves pushed triggers into the debouncers; SIGHUP and a reconnected
// event stream ask for a pass at once.
func (d *Daemon) drain(immediate string, reload bool) (string, bool) {
	d.mu.Lock()
	ps := d.pending
	d.pending = nil
	d.mu.Unlock()
	now := time.Now()
	for _, p := range ps {
		switch p.kind {
		case trigFile:
			d.fileDeb.add(now)
		case trigDocker:
			at := p.at
			if at.IsZero() || at.After(now) {
				at = now
			}
			d.eventDeb.add(at)
		case trigSighup:
			immediate, reload = trigSighup, true
		default:
			if immediate == "" {
				immediate = p.kind
			}
		}
	}
	return immediate, reload
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// Status returns a copy of what the daemon knows.
func (d *Daemon) Status() Status { return d.status.snapshot(time.Now()) }

// Progress receives the executor's events: one log line and one metric per
// finished action. Wire it into the Runner's apply.Options.Progress.
func (d *Daemon) Progress(e apply.Event) {
	a := e.Action
	d.m.action(e)
	if e.Phase == apply.PhaseStart {
		return
	}
	attrs := []any{"client", a.Client, "action", string(a.Kind), "object", a.Object,
		"cause", joinCauses(a.Causes), "result", string(e.Phase), "duration_seconds", e.Duration.Seconds()}
	switch e.Phase {
	case apply.PhaseFailed:
		d.log.Error("action", append(attrs, "error", e.Err.Error())...)
	case apply.PhaseSkipped:
		d.log.Warn("action", attrs...)
	default:
		d.log.Info("action", attrs...)
	}
}

// dockerEvent is an event of one of the fleet's client containers.
type dockerEvent = docker.Event

var errNoSpec = errors.New("no valid fleet.yaml loaded yet")
