package reconcile

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/quantabase/fleetctl/pkg/apply"
	"github.com/quantabase/fleetctl/pkg/docker"
	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/observe"
	"github.com/quantabase/fleetctl/pkg/plan"
	"github.com/quantabase/fleetctl/pkg/redact"
)

// hostObserveTimeout bounds one host's snapshot, so a host that stops
// answering mid-run is reported unreachable instead of holding the pass.
const hostObserveTimeout = 30 * time.Second

// Hosts holds one engine connection per host of a fleet with hosts. A host
// that cannot be reached is dialled again at the next Observe, so a watch
// daemon picks it up when it comes back. Safe for concurrent use.
type Hosts struct {
	mu    sync.Mutex
	names []string
	lock  string
	eps   map[string]docker.Endpoint
	conns map[string]*docker.Client
	errs  map[string]error
}

// ConnectHosts dials every host of spec in parallel. It never fails as a
// whole: a host that cannot be reached is recorded (Client says why) and
// planned as unreachable.
func ConnectHosts(ctx context.Context, spec *fleet.Spec, secrets fleet.Secrets) *Hosts {
	h := &Hosts{lock: spec.LockHostName(), eps: map[string]docker.Endpoint{}, conns: map[string]*docker.Client{}, errs: map[string]error{}}
	for i := range spec.Hosts {
		sh := &spec.Hosts[i]
		h.names = append(h.names, sh.Name)
		h.eps[sh.Name] = Endpoint(sh, secrets)
	}
	h.dialMissing(ctx)
	return h
}

// Endpoint is how to reach host h, with its TLS files resolved.
func Endpoint(h *fleet.Host, secrets fleet.Secrets) docker.Endpoint {
	ep := docker.Endpoint{Host: h.Endpoint}
	if t := h.TLS; t != nil {
		ep.CA, ep.Cert, ep.Key = []byte(secrets.Value(t.CA)), []byte(secrets.Value(t.Cert)), []byte(secrets.Value(t.Key))
	}
	return ep
}

// dialMissing connects, in parallel, every host without a connection.
func (h *Hosts) dialMissing(ctx context.Context) {
	h.mu.Lock()
	var todo []string
	for _, n := range h.names {
		if h.conns[n] == nil {
			todo = append(todo, n)
		}
	}
	h.mu.Unlock()
	var wg sync.WaitGroup
	for _, n := range todo {
		wg.Add(1)
		go func(n string) {
			defer wg.Done()
			c, err := docker.Dial(ctx, h.eps[n])
			h.mu.Lock()
			defer h.mu.Unlock()
			if err != nil {
				h.errs[n] = err
				return
			}
			h.conns[n], h.errs[n] = c, nil
		}(n)
	}
	wg.Wait()
}

// Names lists the hosts in fleet.yaml order.
func (h *Hosts) Names() []string { return append([]string(nil), h.names...) }

// Client returns the host's connection, or nil and why there is none.
func (h *Hosts) Client(name string) (*docker.Client, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c := h.conns[name]; c != nil {
		return c, nil
	}
	if err := h.errs[name]; err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("no host %q", name)
}

// Close closes every connection.
func (h *Hosts) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.conns {
		c.Close()
	}
}

// observeHosts takes every host's snapshot in parallel. The result merges
// the reachable hosts' containers and volumes (what status and watch read by
// name) and keeps each host's own snapshot in Hosts for the planner.
func (r *Runner) observeHosts(ctx context.Context, spec *fleet.Spec, trust bool) *observe.State {
	r.Hosts.dialMissing(ctx)
	vols := make([]string, 0, len(spec.Clients))
	for i := range spec.Clients {
		vols = append(vols, spec.VolumeName(&spec.Clients[i]))
	}
	names := r.Hosts.Names()
	out := make([]observe.HostState, len(names))
	// Engines' errors become plan text: masked like every adapter's output.
	mask := redact.FromContext(ctx)
	var wg sync.WaitGroup
	for i, n := range names {
		out[i].Host = n
		cli, err := r.Hosts.Client(n)
		if err != nil {
			out[i].Err = mask.String(err.Error())
			continue
		}
		wg.Add(1)
		go func(hs *observe.HostState, cli *docker.Client) {
			defer wg.Done()
			hctx, cancel := context.WithTimeout(ctx, hostObserveTimeout)
			defer cancel()
			st, err := cli.Observe(hctx, spec.Fleet, vols, specImages(spec))
			if err != nil {
				hs.Err = mask.String(err.Error())
				return
			}
			if err := addPreviousImages(hctx, cli, spec.Fleet, st); err != nil {
				hs.Err = err.Error()
				return
			}
			// Each host's clients are probed on that host's address.
			(&Runner{Docker: cli, probePublished: true}).look(hctx, spec, st, trust, nil)
			if spec.Sync != nil {
				// The image the sync nodes would run on this host (the
				// planner picks the sync host); Apply imports it there.
				if st.SelfImage, err = cli.SelfImageRef(); err != nil {
					st.SelfImage, st.SelfImageErr = "", err.Error()
				}
			}
			hs.State = st
		}(&out[i], cli)
	}
	wg.Wait()
	merged := &observe.State{Fleet: spec.Fleet, Images: map[string]string{}, Hosts: out}
	for i := range out {
		if st := out[i].State; st != nil {
			merged.Containers = append(merged.Containers, st.Containers...)
			merged.Volumes = append(merged.Volumes, st.Volumes...)
			merged.Unverified = append(merged.Unverified, st.Unverified...)
		}
	}
	// Host ports are checked once, serially, against every host's
	// containers: engines on this machine share its ports, so a client's
	// port held by its own container on another local engine is no
	// conflict, and two hosts listening on the same port at once would make
	// one of them see it bound.
	var local []*observe.State
	for i, n := range names {
		if cli, err := r.Hosts.Client(n); err == nil && cli.Local() && out[i].State != nil {
			local = append(local, out[i].State)
		}
	}
	if len(local) > 0 {
		merged.BoundPorts = boundPorts(spec, merged)
		for _, st := range local {
			st.BoundPorts = merged.BoundPorts
		}
	}
	return merged
}

// runHosts runs each host's share of the plan on that host's engine, the
// hosts in parallel; a failure on one host does not stop the others. Every
// failure names its host.
func (r *Runner) runHosts(ctx context.Context, p *plan.Plan, ao apply.Options) *apply.Result {
	// Actions that wait for one on another host (a rollout's members wait
	// for its canary) run once the first phase is over (rollout_hosts.go).
	// The proxy's sites (no host) run last, against the whole outcome.
	var onHosts, offHosts []plan.Action
	for _, a := range p.Actions {
		if a.Host == "" {
			offHosts = append(offHosts, a)
		} else {
			onHosts = append(onHosts, a)
		}
	}
	first, later := hostPhases(onHosts)
	total := r.runPhase(ctx, p, first, ao)
	if len(later) > 0 && ctx.Err() == nil {
		more := r.runPhase(ctx, p, notFailedDeps(later, total), ao)
		mergeResult(total, more)
	} else {
		for _, a := range later {
			total.Skipped = append(total.Skipped, a.ID)
		}
	}
	if len(offHosts) > 0 {
		r.runOffHosts(ctx, p, offHosts, ao, total)
	}
	return total
}

// runPhase runs acts, each on its host, the hosts in parallel.
func (r *Runner) runPhase(ctx context.Context, p *plan.Plan, acts []plan.Action, ao apply.Options) *apply.Result {
	byHost := map[string][]plan.Action{}
	for _, a := range acts {
		byHost[a.Host] = append(byHost[a.Host], a)
	}
	total := &apply.Result{Failed: map[string]error{}}
	var mu sync.Mutex
	if progress := ao.Progress; progress != nil {
		// One event at a time across the hosts' runs, as within one run.
		var pmu sync.Mutex
		ao.Progress = func(e apply.Event) {
			pmu.Lock()
			defer pmu.Unlock()
			progress(e)
		}
	}
	var wg sync.WaitGroup
	for host, acts := range byHost {
		sub := *p
		sub.Actions = acts
		cli, err := r.Hosts.Client(host)
		if err != nil {
			mu.Lock()
			for _, a := range acts {
				total.Failed[a.ID] = fmt.Errorf("host %s: %w", host, err)
			}
			mu.Unlock()
			continue
		}
		hao := ao
		if hao.ProbeHost == "" {
			hao.ProbeHost = cli.ProbeHost()
		}
		hao.Move = r.moveOptions()
		wg.Add(1)
		go func(host string, cli *docker.Client, sub *plan.Plan) {
			defer wg.Done()
			res := apply.Run(ctx, cli, sub, hao)
			mu.Lock()
			defer mu.Unlock()
			total.Done = append(total.Done, res.Done...)
			total.Skipped = append(total.Skipped, res.Skipped...)
			for id, err := range res.Failed {
				total.Failed[id] = fmt.Errorf("host %s: %w", host, err)
			}
			for id, failed := range res.Stopped {
				if total.Stopped == nil {
					total.Stopped = map[string]string{}
				}
				total.Stopped[id] = failed
			}
		}(host, cli, &sub)
	}
	wg.Wait()
	return total
}

// runOffHosts runs the actions that belong to no engine (the sync-sites of
// the proxy) once every host is done; an action whose dependency on some
// host did not succeed is skipped, as within one run.
func (r *Runner) runOffHosts(ctx context.Context, p *plan.Plan, acts []plan.Action, ao apply.Options, total *apply.Result) {
	// A dependency of an earlier phase has already passed notFailedDeps;
	// one of this phase blocks only when it failed or was skipped.
	bad := map[string]bool{}
	for id := range total.Failed {
		bad[id] = true
	}
	for _, id := range total.Skipped {
		bad[id] = true
	}
	var run []plan.Action
	for _, a := range acts {
		if hasBad(a.DependsOn, bad) {
			total.Skipped = append(total.Skipped, a.ID)
		} else {
			run = append(run, a)
		}
	}
	if len(run) == 0 {
		return
	}
	sub := *p
	sub.Actions = run
	// The engine is not used by these actions; the lock host's is at hand.
	cli, err := r.Hosts.Client(r.Hosts.lock)
	if err != nil {
		for _, a := range run {
			total.Failed[a.ID] = err
		}
		return
	}
	res := apply.Run(ctx, cli, &sub, ao)
	total.Done = append(total.Done, res.Done...)
	total.Skipped = append(total.Skipped, res.Skipped...)
	for id, err := range res.Failed {
		total.Failed[id] = err
	}
}

// ErrLockHostUnreachable: no writer may run while the host that holds the
// fleet's lock cannot be reached.
var ErrLockHostUnreachable = errors.New("the fleet's lock host cannot be reached")

// lockClient is the engine that holds the lock: the lock host's with hosts.
func (r *Runner) lockClient(spec *fleet.Spec) (*docker.Client, error) {
	if r.Hosts == nil {
		return r.Docker, nil
	}
	name := spec.LockHostName()
	cli, err := r.Hosts.Client(name)
	if err != nil {
		return nil, fmt.Errorf("%w: host %s: %v", ErrLockHostUnreachable, name, err)
	}
	return cli, nil
}

// Events merges the Docker event streams of every connected host (the
// watch daemon's Engine with hosts). The first host whose stream breaks
// ends the merged stream with its error, so the daemon reconnects all and
// runs a pass; hosts unreachable now are covered by the resync passes.
func (h *Hosts) Events(ctx context.Context, fleetName string) (<-chan docker.Event, <-chan error) {
	out := make(chan docker.Event, 64)
	errc := make(chan error, 1)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, n := range h.Names() {
		cli, err := h.Client(n)
		if err != nil {
			continue
		}
		evs, errs := cli.Events(ctx, fleetName)
		wg.Add(1)
		go func(host string) {
			defer wg.Done()
			for ev := range evs {
				select {
				case out <- ev:
				case <-ctx.Done():
				}
			}
			err := <-errs
			select {
			case errc <- fmt.Errorf("host %s: %w", host, err):
			default:
			}
			cancel()
		}(n)
	}
	go func() {
		wg.Wait()
		select {
		case errc <- errors.New("no host of the fleet can be reached"):
		default:
		}
		cancel()
		close(out)
	}()
	return out, errc
}

// Ping checks the lock host: without it no pass can run. The other hosts'
// reachability is a metric of its own (fleet_host_reachable).
func (h *Hosts) Ping(ctx context.Context) error {
	cli, err := h.Client(h.lock)
	if err != nil {
		return fmt.Errorf("lock host %s: %w", h.lock, err)
	}
	return cli.Ping(ctx)
}

// matchesHosts refuses a spec whose hosts section differs from the hosts
// the runner was connected to: planning a fleet with hosts on one engine
// (or the other way round) would create every client in the wrong place.
func (r *Runner) matchesHosts(spec *fleet.Spec) error {
	if r.Hosts == nil {
		if len(spec.Hosts) > 0 {
			return errors.New("fleet.yaml has hosts, but this process was started without them: restart it")
		}
		return nil
	}
	names := r.Hosts.Names()
	same := len(names) == len(spec.Hosts)
	for i := 0; same && i < len(names); i++ {
		same = names[i] == spec.Hosts[i].Name && r.Hosts.eps[names[i]].Host == spec.Hosts[i].Endpoint
	}
	if !same {
		return errors.New("the hosts section of fleet.yaml changed since this process connected to the hosts: restart it")
	}
	return nil
}

// probeBind is the address a client is probed on: fleet.yaml's bind
// address, or with hosts the one its container is published on.
func (r *Runner) probeBind(c *fleet.Client, ctr *observe.Container) string {
	if r.probePublished {
		for _, p := range ctr.Ports {
			if p.HostPort == c.Port && p.HostIP != "" {
				return p.HostIP
			}
		}
	}
	return c.BindAddress
}

// moveOptions give a host's run of a move-client action the old host's
// engine and the volume copy between the two.
func (r *Runner) moveOptions() apply.MoveOptions {
	if r.CopyVolume == nil {
		return apply.MoveOptions{}
	}
	return apply.MoveOptions{
		Engine: func(host string) (apply.Engine, error) {
			cli, err := r.Hosts.Client(host)
			if err != nil {
				return nil, err
			}
			return cli, nil
		},
		Copy: func(ctx context.Context, m *plan.Move) error {
			from, err := r.Hosts.Client(m.From)
			if err != nil {
				return fmt.Errorf("host %s: %w", m.From, err)
			}
			to, err := r.Hosts.Client(m.To)
			if err != nil {
				return fmt.Errorf("host %s: %w", m.To, err)
			}
			return r.CopyVolume(ctx, from, to, m)
		},
	}
}

// ensureSyncImage imports fleetctl's own image on each host where the plan
// creates, replaces or starts a sync node (the sync host), once the plan is
// approved.
func (r *Runner) ensureSyncImage(ctx context.Context, p *plan.Plan) error {
	done := map[string]bool{}
	for _, a := range p.Actions {
		if a.Host == "" || done[a.Host] || a.Container == nil || !strings.HasPrefix(a.ID, "sync-node.") {
			continue
		}
		done[a.Host] = true
		cli, err := r.Hosts.Client(a.Host)
		if err != nil {
			return fmt.Errorf("host %s: %w", a.Host, err)
		}
		if _, err := cli.EnsureSelfImage(ctx); err != nil {
			return fmt.Errorf("host %s: %w", a.Host, err)
		}
	}
	return nil
}
