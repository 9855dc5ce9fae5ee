package watch

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quantabase/fleetctl/pkg/apply"
	"github.com/quantabase/fleetctl/pkg/docker"
	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/observe"
	"github.com/quantabase/fleetctl/pkg/plan"
	"github.com/quantabase/fleetctl/pkg/reconcile"
)

// fakeRunner stands in for reconcile.Runner in unit tests of the loop's
// bookkeeping (the real pass is tested against Docker in cmd/fleetctl).
type fakeRunner struct {
	mu    sync.Mutex
	calls []fakeCall
	fail  map[string]bool // clients whose container action fails
}

type fakeCall struct {
	digest  string
	exclude []string
}

func (f *fakeRunner) Apply(ctx context.Context, spec *fleet.Spec, _ fleet.Secrets, opt plan.Options, _ reconcile.Approve) (*reconcile.Outcome, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fakeCall{spec.Digest, slices.Clone(opt.Exclude)})
	p := &plan.Plan{Fleet: spec.Fleet}
	res := &apply.Result{Failed: map[string]error{}}
	for _, c := range spec.Clients {
		if f.fail[c.Name] && !slices.Contains(opt.Exclude, c.Name) {
			id := "container." + c.Name
			p.Actions = append(p.Actions, plan.Action{ID: id, Kind: plan.KindCreateContainer, Client: c.Name, Object: "openwebui-" + c.Name})
			res.Failed[id] = errors.New("health check failed")
		}
	}
	return &reconcile.Outcome{Plan: p, State: &observe.State{Fleet: spec.Fleet}, Result: res}, nil
}

func (f *fakeRunner) Observe(context.Context, *fleet.Spec) (*observe.State, error) {
	return &observe.State{}, nil
}

func (f *fakeRunner) snapshot() []fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

type fakeEngine struct{ events chan docker.Event }

func (e *fakeEngine) Events(ctx context.Context, _ string) (<-chan docker.Event, <-chan error) {
	errs := make(chan error, 1)
	go func() { <-ctx.Done(); errs <- ctx.Err() }()
	return e.events, errs
}

func (e *fakeEngine) Ping(context.Context) error { return nil }

const validSpec = `apiVersion: fleetctl/v1
fleet: unit
secretKeySeed: ${file:./seed}
clients:
  - name: good
    port: 18081
  - name: bad
    port: 18082
`

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestLoopBackoffAndInvalidSpec(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "fleet.yaml")
	if err := os.WriteFile(path, []byte(validSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	run := &fakeRunner{fail: map[string]bool{"bad": true}}
	eng := &fakeEngine{events: make(chan docker.Event)}
	d := New(Config{
		Path: path, Runner: run, Engine: eng, Resync: 50 * time.Millisecond,
		FileQuiet: 20 * time.Millisecond, BackoffBase: time.Hour,
		Logger:  slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Resolve: func(*fleet.Spec) (fleet.Secrets, error) { return fleet.Secrets{}, nil },
	})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-stopped; err != nil {
			t.Errorf("Run: %v", err)
		}
	})

	// The first pass includes everyone; "bad" fails and is left out after.
	waitFor(t, "two passes", func() bool { return len(run.snapshot()) >= 2 })
	calls := run.snapshot()
	if len(calls[0].exclude) != 0 {
		t.Fatalf("first pass excluded %v", calls[0].exclude)
	}
	if !slices.Equal(calls[1].exclude, []string{"bad"}) {
		t.Fatalf("second pass excluded %v, want [bad]", calls[1].exclude)
	}
	waitFor(t, "ready", func() bool { ok, _ := d.Ready(ctx); return ok })
	st := d.Status()
	if row := findRow(st, "bad"); row == nil || row.LastError == "" || row.Failures != 1 {
		t.Fatalf("status of bad: %+v", row)
	}
	if row := findRow(st, "good"); row == nil || row.LastError != "" {
		t.Fatalf("status of good: %+v", row)
	}
	goodDigest := calls[0].digest

	// An invalid file: reported, and passes keep using the last valid spec.
	if err := os.WriteFile(path, []byte("apiVersion: fleetctl/v1\nfleet: unit\nclients: [{name: BAD NAME, port: 80}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "spec invalid", func() bool { return !d.Status().SpecValid })
	n := len(run.snapshot())
	waitFor(t, "a pass after the bad edit", func() bool { return len(run.snapshot()) > n })
	for _, c := range run.snapshot()[n:] {
		if c.digest != goodDigest {
			t.Fatal("a pass used the invalid spec")
		}
	}
	if ok, why := d.Ready(ctx); ok || len(why) == 0 {
		t.Fatalf("ready with an invalid spec: %v %v", ok, why)
	}
	if len(d.Status().SpecErrors) == 0 {
		t.Fatal("no spec errors reported")
	}

	// Fixing the file: the new spec is used.
	fixed := validSpec + "    displayName: Bad Fixed\n"
	if err := os.WriteFile(path, []byte(fixed), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "spec valid again", func() bool { return d.Status().SpecValid })
	waitFor(t, "a pass with the fixed spec", func() bool {
		cs := run.snapshot()
		return cs[len(cs)-1].digest != goodDigest
	})

	// A ${file:} secret changing (written elsewhere, renamed into place)
	// triggers a reload and a pass too.
	fileTriggers := func() float64 { return counterValue(t, d.m, "fleet_reconcile_triggers_total", trigFile) }
	before := fileTriggers()
	tmp := filepath.Join(dir, ".seed.tmp")
	if err := os.WriteFile(tmp, []byte("new-seed\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "seed")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a pass after the secret file changed", func() bool { return fileTriggers() > before })

	// A Docker event triggers a pass.
	eng.events <- docker.Event{Action: "die", Client: "good", Time: time.Now()}
	waitFor(t, "a docker-triggered pass", func() bool {
		return counterValue(t, d.m, "fleet_reconcile_triggers_total", trigDocker) > 0
	})
}

// counterValue reads one series of a counter vector from the registry.
func counterValue(t *testing.T, m *Metrics, name, label string) float64 {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, s := range mf.GetMetric() {
			for _, lp := range s.GetLabel() {
				if lp.GetValue() == label {
					return s.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func findRow(s Status, name string) *ClientStatus {
	for i := range s.Clients {
		if s.Clients[i].Name == name {
			return &s.Clients[i]
		}
	}
	return nil
}

// The directory of fleet.yaml is removed and re-created (inotify drops its
// watch): the next resync still loads the new file.
func TestResyncReloadsAfterTheDirectoryIsReplaced(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "conf")
	path := filepath.Join(dir, "fleet.yaml")
	write := func(spec string) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(spec), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(validSpec)
	run := &fakeRunner{}
	d := New(Config{
		Path: path, Runner: run, Engine: &fakeEngine{events: make(chan docker.Event)}, Resync: 50 * time.Millisecond,
		FileQuiet: 20 * time.Millisecond, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Resolve: func(*fleet.Spec) (fleet.Secrets, error) { return fleet.Secrets{}, nil },
	})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- d.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-stopped })

	waitFor(t, "first pass", func() bool { return len(run.snapshot()) >= 1 })
	first := run.snapshot()[0].digest
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // a resync or two with the file gone
	write(strings.Replace(validSpec, "port: 18082", "port: 18083", 1))
	waitFor(t, "a pass with the new file", func() bool {
		calls := run.snapshot()
		return calls[len(calls)-1].digest != first
	})
}
