package apply

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quantabase/fleetctl/pkg/observe"
	"github.com/quantabase/fleetctl/pkg/plan"
	"github.com/quantabase/fleetctl/pkg/resource"
)

// fakeEngine records calls and keeps container state, so the executor's
// ordering and rollback can be checked without a daemon. Integration tests
// run the same executor against the real Docker engine.
type fakeEngine struct {
	mu         sync.Mutex
	calls      []string
	containers map[string]*fakeCtr // by ID
	next       int
	failCreate bool
	failStart  bool
	running    int
	maxRunning int
	delay      time.Duration
}

type fakeCtr struct {
	name     string
	state    string
	exitCode int
}

func newFake() *fakeEngine { return &fakeEngine{containers: map[string]*fakeCtr{}} }

func (f *fakeEngine) log(format string, args ...any) {
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

func (f *fakeEngine) EnsureVolume(_ context.Context, v resource.Volume) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("volume %s", v.Name)
	return nil
}

func (f *fakeEngine) PullImage(_ context.Context, ref string) error {
	f.mu.Lock()
	f.running++
	if f.running > f.maxRunning {
		f.maxRunning = f.running
	}
	f.log("pull %s", ref)
	f.mu.Unlock()
	time.Sleep(f.delay)
	f.mu.Lock()
	f.running--
	f.mu.Unlock()
	if ref == "missing:latest" {
		return errors.New("no registry")
	}
	return nil
}

func (f *fakeEngine) CreateContainer(_ context.Context, c resource.Container) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("create %s", c.Name)
	if f.failCreate {
		return "", errors.New("create failed")
	}
	for _, x := range f.containers {
		if x.name == c.Name {
			return "", errors.New("name conflict " + c.Name)
		}
	}
	f.next++
	id := "id" + strconv.Itoa(f.next)
	f.containers[id] = &fakeCtr{name: c.Name, state: "created"}
	return id, nil
}

func (f *fakeEngine) StartContainer(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.containers[id]
	f.log("start %s", c.name)
	if f.failStart {
		return errors.New("address already in use")
	}
	for _, x := range f.containers {
		if x != c && x.state == "running" && strings.TrimSuffix(x.name, ".previous") == strings.TrimSuffix(c.name, ".previous") {
			return errors.New("two containers of one client running at once")
		}
	}
	c.state = "running"
	return nil
}

func (f *fakeEngine) StopContainer(_ context.Context, id string, _ time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c := f.containers[id]; c != nil {
		f.log("stop %s", c.name)
		c.state = "exited"
	}
	return nil
}

func (f *fakeEngine) RenameContainer(_ context.Context, id, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("rename %s -> %s", f.containers[id].name, name)
	f.containers[id].name = name
	return nil
}

func (f *fakeEngine) SetRestartPolicy(_ context.Context, id, policy string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("restart-policy %s %s", f.containers[id].name, policy)
	return nil
}

func (f *fakeEngine) RemoveContainer(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c := f.containers[id]; c != nil {
		f.log("remove %s", c.name)
		delete(f.containers, id)
	}
	return nil
}

func (f *fakeEngine) ContainerState(_ context.Context, id string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c := f.containers[id]; c != nil {
		return c.state, nil
	}
	return "", nil
}

func (f *fakeEngine) InspectRuntime(_ context.Context, id string) (*observe.Runtime, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.containers[id]
	if c == nil {
		return nil, nil
	}
	return &observe.Runtime{Status: c.state, Running: c.state == "running", ExitCode: c.exitCode}, nil
}

func (f *fakeEngine) add(name, state string) string {
	f.next++
	id := "id" + strconv.Itoa(f.next)
	f.containers[id] = &fakeCtr{name: name, state: state}
	return id
}

// healthServer answers /health as healthy or not, and returns its port.
func healthServer(t *testing.T, healthy bool) int {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if healthy {
			fmt.Fprint(w, `{"status": true}`)
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `{"status": false}`)
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	port, _ := strconv.Atoi(u.Port())
	return port
}

func ctrAction(kind plan.Kind, name string, port int) plan.Action {
	return plan.Action{
		ID: "container." + name, Kind: kind, Client: name, Object: name, Start: true,
		PreviousName: name + ".previous",
		Container: &resource.Container{Name: name, HostPort: port, BindAddress: "127.0.0.1",
			Health: resource.Health{Path: "/health", Timeout: 600 * time.Millisecond, Interval: 50 * time.Millisecond}},
	}
}

func TestRecreateIsStopFirstAndRemovesOldWhenHealthy(t *testing.T) {
	f := newFake()
	old := f.add("web", "running")
	a := ctrAction(plan.KindRecreateContainer, "web", healthServer(t, true))
	a.ExistingID = old
	res := Run(context.Background(), f, &plan.Plan{Actions: []plan.Action{a}}, Options{})
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{"stop web", "restart-policy web no", "rename web -> web.previous", "create web", "start web", "remove web.previous"}
	if got := strings.Join(f.calls, "|"); got != strings.Join(want, "|") {
		t.Fatalf("calls:\n got %s\nwant %s", got, strings.Join(want, "|"))
	}
}

func TestRecreateRollsBackWhenUnhealthy(t *testing.T) {
	f := newFake()
	old := f.add("web", "running")
	a := ctrAction(plan.KindRecreateContainer, "web", healthServer(t, false))
	a.ExistingID = old
	// The old container answers on its own (old) port: the restore is health-gated there.
	a.OldPort = observe.PortBinding{HostIP: "127.0.0.1", HostPort: healthServer(t, true)}
	a.OldRestart = "always"
	res := Run(context.Background(), f, &plan.Plan{Actions: []plan.Action{a}}, Options{})
	if calls := strings.Join(f.calls, "|"); !strings.Contains(calls, "restart-policy web no|rename web -> web.previous") ||
		!strings.Contains(calls, "rename web.previous -> web|restart-policy web always") {
		t.Fatalf("parked container's restart policy not disabled then restored: %s", calls)
	}
	err := res.Failed["container.web"]
	if err == nil || !strings.Contains(err.Error(), "rolled back: the old container is restored and healthy") {
		t.Fatalf("want rollback error, got %v", err)
	}
	if c := f.containers[old]; c == nil || c.name != "web" || c.state != "running" {
		t.Fatalf("old container not restored: %+v", c)
	}
	if len(f.containers) != 1 {
		t.Fatalf("new container not removed: %d containers", len(f.containers))
	}
}

func TestResumeInterruptedRecreate(t *testing.T) {
	f := newFake()
	prev := f.add("web.previous", "exited")
	cur := f.add("web", "created")
	a := ctrAction(plan.KindRecreateContainer, "web", healthServer(t, true))
	a.ExistingID, a.ExistingMatches, a.PreviousID = cur, true, prev
	if err := Run(context.Background(), f, &plan.Plan{Actions: []plan.Action{a}}, Options{}).Err(); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.containers[prev]; ok || f.containers[cur].state != "running" {
		t.Fatalf("calls %v", f.calls)
	}
}

func TestCreateFailureDoesNotBlockOthersAndSkipsDependents(t *testing.T) {
	f := newFake()
	port := healthServer(t, true)
	pull := plan.Action{ID: "image.missing:latest", Kind: plan.KindPullImage, Image: "missing:latest", Object: "missing:latest"}
	a := ctrAction(plan.KindCreateContainer, "a", port)
	a.DependsOn = []string{pull.ID}
	b := ctrAction(plan.KindCreateContainer, "b", port)
	res := Run(context.Background(), f, &plan.Plan{Actions: []plan.Action{pull, a, b}}, Options{})
	if res.Failed[pull.ID] == nil || len(res.Skipped) != 1 || res.Skipped[0] != "container.a" {
		t.Fatalf("result %+v", res)
	}
	if len(res.Done) != 1 || res.Done[0] != "container.b" {
		t.Fatalf("b should converge: %+v", res)
	}
	if err := res.Err(); err == nil || !strings.Contains(err.Error(), "2 action(s) did not complete") {
		t.Fatalf("aggregate error: %v", err)
	}
}

func TestParallelismIsBounded(t *testing.T) {
	f := newFake()
	f.delay = 30 * time.Millisecond
	var as []plan.Action
	for i := 0; i < 10; i++ {
		ref := fmt.Sprintf("img%d:1", i)
		as = append(as, plan.Action{ID: "image." + ref, Kind: plan.KindPullImage, Image: ref, Object: ref})
	}
	Run(context.Background(), f, &plan.Plan{Actions: as}, Options{Parallelism: 3})
	if f.maxRunning > 3 || f.maxRunning < 2 {
		t.Fatalf("max concurrent %d, want 2..3", f.maxRunning)
	}
}

func TestCancelledRunStartsNothing(t *testing.T) {
	f := newFake()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	a := ctrAction(plan.KindCreateContainer, "a", healthServer(t, true))
	res := Run(ctx, f, &plan.Plan{Actions: []plan.Action{a}}, Options{})
	if len(res.Skipped) != 1 || len(f.calls) != 0 {
		t.Fatalf("result %+v calls %v", res, f.calls)
	}
}

func TestUnhealthyNewClientIsStoppedNotRemoved(t *testing.T) {
	f := newFake()
	a := ctrAction(plan.KindCreateContainer, "a", healthServer(t, false))
	res := Run(context.Background(), f, &plan.Plan{Actions: []plan.Action{a}}, Options{})
	if res.Failed["container.a"] == nil {
		t.Fatal("want failure")
	}
	if len(f.containers) != 1 {
		t.Fatal("container should be kept (stopped) for its logs and a retry")
	}
	for _, c := range f.containers {
		if c.state != "exited" {
			t.Fatalf("state %s", c.state)
		}
	}
}

// A recreate interrupted after the new container was created, followed by a
// spec change: the unproven current container goes, and the parked one (last
// known good) stays the rollback target.
func TestRecreateAfterInterruptedRecreateKeepsLastKnownGood(t *testing.T) {
	f := newFake()
	good := f.add("web.previous", "exited")
	unproven := f.add("web", "running")
	a := ctrAction(plan.KindRecreateContainer, "web", healthServer(t, false))
	a.ExistingID, a.PreviousID = unproven, good
	a.OldPort = observe.PortBinding{HostIP: "127.0.0.1", HostPort: healthServer(t, true)}
	res := Run(context.Background(), f, &plan.Plan{Actions: []plan.Action{a}}, Options{})
	if res.Failed["container.web"] == nil {
		t.Fatal("want failure")
	}
	if c := f.containers[good]; c == nil || c.name != "web" || c.state != "running" {
		t.Fatalf("last known good container not restored: %+v (calls %v)", c, f.calls)
	}
	if _, ok := f.containers[unproven]; ok || len(f.containers) != 1 {
		t.Fatalf("unproven container kept: calls %v", f.calls)
	}
}

type loggingFake struct{ *fakeEngine }

func (l loggingFake) ContainerLogsTail(context.Context, string, int) (string, error) {
	return "connecting to postgres://app:hunter2-secret@db/x\nfatal: boom\n", nil
}

func TestHealthFailureLogsAreRedacted(t *testing.T) {
	f := loggingFake{newFake()}
	a := ctrAction(plan.KindCreateContainer, "a", healthServer(t, false))
	a.Container.Env = []resource.EnvVar{{Name: "DATABASE_URL", Value: "postgres://app:hunter2-secret@db/x", Sensitive: true}}
	res := Run(context.Background(), f, &plan.Plan{Actions: []plan.Action{a}}, Options{})
	msg := res.Failed["container.a"].Error()
	if strings.Contains(msg, "hunter2") || !strings.Contains(msg, "fatal: boom") || !strings.Contains(msg, plan.Masked) {
		t.Fatalf("log tail not redacted or missing:\n%s", msg)
	}
}

// A container that does not even start (a host port held by another
// process) is removed: no Created container is left for the next plan.
func TestFailedStartLeavesNoContainer(t *testing.T) {
	f := newFake()
	f.failStart = true
	a := ctrAction(plan.KindCreateContainer, "a", healthServer(t, true))
	res := Run(context.Background(), f, &plan.Plan{Actions: []plan.Action{a}}, Options{})
	if err := res.Failed["container.a"]; err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("want the start error, got %v", err)
	}
	if len(f.containers) != 0 {
		t.Fatalf("a container that never started was left behind: calls %v", f.calls)
	}
}

// The rollback note comes before the quoted log lines, never glued to the
// end of the last one.
func TestRollbackNoteBeforeLogLines(t *testing.T) {
	f := loggingFake{newFake()}
	old := f.add("web", "running")
	a := ctrAction(plan.KindRecreateContainer, "web", healthServer(t, false))
	a.ExistingID = old
	a.OldPort = observe.PortBinding{HostIP: "127.0.0.1", HostPort: healthServer(t, true)}
	res := Run(context.Background(), f, &plan.Plan{Actions: []plan.Action{a}}, Options{})
	msg := res.Failed["container.web"].Error()
	first, logs, ok := strings.Cut(msg, "\n    last log lines:")
	if !ok || !strings.Contains(first, "; rolled back: the old container is restored and healthy") {
		t.Fatalf("rollback note not on the first line:\n%s", msg)
	}
	if strings.Contains(logs, "rolled back") || !strings.HasSuffix(logs, "fatal: boom") {
		t.Fatalf("log lines changed:\n%s", msg)
	}
}
