package reconcile

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/quantabase/fleetctl/pkg/docker"
	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/health"
	"github.com/quantabase/fleetctl/pkg/observe"
)

// Bounds of one look at the clients: probe calls run sixteen at a time
// (inspect calls have their own bound, in pkg/docker), and the whole look is
// cut at lookBudget (what did not answer is reported as unverified, and the
// labels are trusted for it).
const (
	lookParallelism = 16
	lookBudget      = 10 * time.Second
	probeTimeout    = 2 * time.Second
)

// probeClient is shared by every look of a process: one transport, so its
// idle connections are reused from pass to pass (the watch daemon).
var probeClient = &http.Client{}

// look completes a snapshot with the truth about each client's container:
// its HTTP readiness (pkg/health) and what the engine says on inspect
// (state, restarts, exit code, last log lines and, unless trust is set,
// the configuration it runs with), and the host ports a client wants that
// a process other than a container holds (local engine only).
//
// When every container is inspected anyway (trust unset), the probes and
// the inspect calls are independent and run at the same time: the look
// costs the slower of the two, not their sum. With trust set, only what
// the probes found down is inspected, so the probes come first.
//
// early, when not nil, holds the inspect calls already started by name
// (verify mode): their answers are used where the container is the listed
// one.
func (r *Runner) look(ctx context.Context, spec *fleet.Spec, st *observe.State, trust bool, early *docker.Inspection) {
	ctx, cancel := context.WithTimeout(ctx, lookBudget)
	defer cancel()
	byName := make(map[string]*observe.Container, len(st.Containers))
	for i := range st.Containers {
		byName[st.Containers[i].Name] = &st.Containers[i]
	}
	var (
		inspect []*observe.Container
		probes  []probeJob
	)
	for i := range spec.Clients {
		c := &spec.Clients[i]
		ctr := byName[spec.ContainerName(c)]
		if ctr == nil || !observe.Managed(ctr.Labels, spec.Fleet) || ctr.Labels[observe.LabelClient] != c.Name {
			continue
		}
		if ctr.State == "running" {
			probes = append(probes, probeJob{ctr, c})
		}
		if !trust || ctr.State != "running" {
			inspect = append(inspect, ctr)
		}
	}
	pr := health.Prober{HTTP: probeClient, Host: r.Docker.ProbeHost()}
	if trust {
		r.probeAll(ctx, pr, probes)
		// Only what looks down is inspected (restart count, exit code, logs).
		for _, j := range probes {
			if !j.ctr.Probe.OK {
				inspect = append(inspect, j.ctr)
			}
		}
		st.Unverified = r.Docker.InspectInto(ctx, inspect, false)
	} else {
		// Distinct fields of each container: the probes fill Probe, the
		// inspect calls Runtime.
		done := make(chan struct{})
		go func() { defer close(done); r.probeAll(ctx, pr, probes) }()
		if early != nil {
			st.Unverified = early.Into(ctx, inspect)
		} else {
			st.Unverified = r.Docker.InspectInto(ctx, inspect, true)
		}
		<-done
	}
	if r.Docker.Local() && !r.probePublished {
		// Several hosts check their ports once, over every host's
		// containers, after all are observed (observeHosts).
		st.BoundPorts = boundPorts(spec, st)
	}
}

type probeJob struct {
	ctr *observe.Container
	c   *fleet.Client
}

// probeAll probes each job's client, lookParallelism at a time, and sets
// its container's Probe.
func (r *Runner) probeAll(ctx context.Context, pr health.Prober, jobs []probeJob) {
	sem := make(chan struct{}, lookParallelism)
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			pctx, cancel := context.WithTimeout(ctx, probeTimeout)
			defer cancel()
			res := pr.Probe(pctx, r.probeBind(j.c, j.ctr), j.c.Port, healthPath(j.c))
			j.ctr.Probe = &res
		}()
	}
	wg.Wait()
}

// boundPorts lists the client ports no container publishes that something
// on this host already listens on, for the clients that have no container.
func boundPorts(spec *fleet.Spec, st *observe.State) []observe.PortBinding {
	published := map[int]bool{}
	byName := make(map[string]*observe.Container, len(st.Containers))
	owned := map[string]bool{}
	for i, c := range st.Containers {
		byName[c.Name] = &st.Containers[i]
		if observe.Managed(c.Labels, spec.Fleet) {
			owned[c.Labels[observe.LabelClient]] = true
		}
		for _, p := range c.Ports {
			published[p.HostPort] = true
		}
	}
	var out []observe.PortBinding
	for i := range spec.Clients {
		c := &spec.Clients[i]
		if published[c.Port] {
			continue
		}
		// Only a client with no container yet is checked: one of its own
		// (a parked .previous, one the engine is still stopping) may hold
		// the port without listing it, and a false conflict would block it.
		name := spec.ContainerName(c)
		if byName[name] != nil || byName[name+observe.PreviousSuffix] != nil || owned[c.Name] {
			continue
		}
		if health.PortHeld(c.BindAddress, c.Port) {
			out = append(out, observe.PortBinding{HostIP: c.BindAddress, HostPort: c.Port})
		}
	}
	return out
}

func healthPath(c *fleet.Client) string {
	if c.HealthCheck == nil {
		return fleet.DefaultHealthPath
	}
	return c.HealthCheck.Path
}
