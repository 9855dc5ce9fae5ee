// Package reconcile runs one observe → plan → apply pass for a fleet under
// the fleet's lock. The CLI's plan and apply and the watch daemon share it,
// so they take the same lock and make the same decisions. It wires the
// Docker adapter to the planner and executor; it makes no decisions itself.
//
// It is where a pass's masker (pkg/redact) is made: once the plan is built,
// from the resolved secrets and the sensitive values the plan derived, and
// put into the context every adapter call of the pass receives.
package reconcile

import (
	"context"
	"fmt"
	"time"

	"github.com/quantabase/fleetctl/pkg/apply"
	"github.com/quantabase/fleetctl/pkg/docker"
	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/observe"
	"github.com/quantabase/fleetctl/pkg/plan"
	"github.com/quantabase/fleetctl/pkg/redact"
)

// Runner reconciles fleets on one Docker engine.
type Runner struct {
	Docker *docker.Client
	// Hosts, when set (fleet.yaml has hosts), replaces Docker: every host is
	// observed and driven through its own connection (hosts.go).
	Hosts *Hosts
	// Holder describes this process in the lock ("user@host pid N: fleetctl apply").
	Holder string
	// LockWait is how long Apply waits for another holder of the lock.
	LockWait time.Duration
	// LockWaiting, when set, is told who holds the lock as soon as Apply
	// starts to wait for it (and again if the holder changes).
	LockWaiting func(docker.LockInfo)
	// Exec tunes the executor; ProbeHost defaults to the engine's host.
	Exec apply.Options
	// CopyVolume copies a moving client's volume between two hosts
	// (backup.Move; the CLI wires it, pkg/backup imports this package).
	// Without it a move-client action fails before it changes anything.
	CopyVolume func(ctx context.Context, from, to *docker.Client, m *plan.Move) error

	// probePublished: probe a client where its container is published
	// (a host's runner: placement may publish it beyond loopback).
	probePublished bool
}

// Observe takes one snapshot of what the fleet cares about, each client's
// container verified by inspect (see look).
func (r *Runner) Observe(ctx context.Context, spec *fleet.Spec) (*observe.State, error) {
	return r.observe(ctx, spec, false)
}

func (r *Runner) observe(ctx context.Context, spec *fleet.Spec, trustLabels bool) (*observe.State, error) {
	vols := make([]string, 0, len(spec.Clients))
	for i := range spec.Clients {
		vols = append(vols, spec.VolumeName(&spec.Clients[i]))
	}
	imgs := specImages(spec)
	if err := r.matchesHosts(spec); err != nil { // hosts.go
		return nil, err
	}
	vols, imgs = monitoringObjects(spec, vols, imgs)
	var st *observe.State
	var err error
	var early *docker.Inspection
	lctx, cancel := context.WithTimeout(ctx, lookBudget)
	defer cancel()
	if r.Hosts == nil && !trustLabels {
		// Every client container is inspected anyway: start by name now,
		// so the calls overlap the lists (look uses what still matches).
		early = r.Docker.InspectEarly(lctx, spec.Fleet, containerNames(spec), true)
	}
	if r.Hosts != nil {
		st = r.observeHosts(ctx, spec, trustLabels) // hosts.go: looks at each host's clients
	} else if st, err = r.Docker.Observe(ctx, spec.Fleet, vols, imgs); err != nil {
		return nil, fmt.Errorf("observe: %w", err)
	}
	if sites := Sites(spec); sites != nil {
		// A sites directory that cannot be read must not stop container
		// repairs: the plan warns and leaves the site files alone.
		if st.Sites, err = sites.Observe(ctx, certPaths(spec)); err != nil {
			st.Sites, st.SitesErr = nil, err.Error()
		}
	}
	if r.Hosts == nil {
		observeMonitoring(ctx, spec, st, r.Docker.Local()) // monitoring.go
	}
	if r.Hosts == nil {
		// The images the fleet's containers replaced (what a rollback
		// returns to) are looked up while the look runs.
		prev := make(chan error, 1)
		go func() { prev <- addPreviousImages(lctx, r.Docker, spec.Fleet, st) }()
		r.look(lctx, spec, st, trustLabels, early) // observe.go
		if err := <-prev; err != nil {
			return nil, fmt.Errorf("observe: %w", err)
		}
		if r.Docker.Local() && !r.probePublished {
			st.BoundPorts = append(st.BoundPorts, monitoringBoundPorts(spec, st)...)
		}
		lookMonitoring(lctx, r.Docker, spec, st) // monitoring.go
	}
	if spec.Sync != nil && r.Hosts == nil {
		// The sync nodes run fleetctl's own binary. A plan only names its
		// image (plan changes nothing); Apply imports it before running.
		if st.SelfImage, err = r.Docker.SelfImageRef(); err != nil {
			st.SelfImage, st.SelfImageErr = "", err.Error()
		}
	}
	return st, nil
}

// addPreviousImages adds to st.Images the images the fleet's containers
// record as replaced (plan.LabelPreviousImageRef), which fleet.yaml may no
// longer name: a rollback returns to one of them. Only those not already
// known cost a call (one per distinct reference).
func addPreviousImages(ctx context.Context, cli *docker.Client, fleetName string, st *observe.State) error {
	var refs []string
	seen := map[string]bool{}
	for _, c := range st.Containers {
		ref := c.Labels[plan.LabelPreviousImageRef]
		if ref == "" || seen[ref] || !observe.Managed(c.Labels, fleetName) {
			continue
		}
		seen[ref] = true
		if _, ok := st.Images[ref]; !ok {
			refs = append(refs, ref)
		}
	}
	if len(refs) == 0 {
		return nil
	}
	got, err := cli.LocalImages(ctx, refs)
	if err != nil {
		return err
	}
	for k, v := range got {
		if _, ok := st.Images[k]; !ok {
			st.Images[k] = v
		}
	}
	return nil
}

// containerNames lists each client's container name.
func containerNames(spec *fleet.Spec) []string {
	out := make([]string, 0, len(spec.Clients))
	for i := range spec.Clients {
		out = append(out, spec.ContainerName(&spec.Clients[i]))
	}
	return out
}

// specImages lists the image references the planner looks up: each client's
// image, once.
func specImages(spec *fleet.Spec) []string {
	out := []string{}
	seen := map[string]bool{}
	for i := range spec.Clients {
		if img := spec.Clients[i].Image; !seen[img] {
			seen[img] = true
			out = append(out, img)
		}
	}
	return out
}

// certPaths lists the certificate and key files the fleet's sites will name.
func certPaths(spec *fleet.Spec) []string {
	var out []string
	for i := range spec.Clients {
		if c := &spec.Clients[i]; c.Domain != "" && spec.Proxy != nil {
			site := plan.DesiredSite(spec, c)
			if site.TLS {
				out = append(out, site.Certificate, site.CertificateKey)
			}
		}
	}
	return out
}

// Plan observes and plans without taking the lock (read only).
func (r *Runner) Plan(ctx context.Context, spec *fleet.Spec, secrets fleet.Secrets, opt plan.Options) (*plan.Plan, *observe.State, error) {
	// Containers' log lines enter the snapshot: masked with every secret.
	ctx = redact.NewContext(ctx, secrets.Masker())
	st, err := r.observe(ctx, spec, opt.TrustLabels)
	if err != nil {
		return nil, nil, err
	}
	if len(st.Hosts) > 0 {
		return plan.BuildHosts(spec, secrets, st, opt), st, nil
	}
	return plan.Build(spec, secrets, st, opt), st, nil
}

// masker knows every secret value a pass can hand an adapter: the resolved
// references and the sensitive values the planner derived from them (each
// client's WEBUI_SECRET_KEY, a Supabase URL).
func masker(secrets fleet.Secrets, p *plan.Plan) *redact.Masker {
	var derived []string
	for i := range p.Actions {
		if sp := p.Actions[i].SyncProvision; sp != nil {
			derived = append(derived, sp.Password, sp.OwnerURL)
		}
		if c := p.Actions[i].Container; c != nil {
			for _, e := range c.Env {
				if e.Sensitive {
					derived = append(derived, e.Value)
				}
			}
		}
	}
	return secrets.Masker(derived...)
}

// Approve sees the plan made under the lock and says whether to run it; an
// error aborts the run (a stale saved plan, a refused confirmation).
type Approve func(p *plan.Plan) error

// Outcome is what one pass did. Result is nil when nothing ran.
type Outcome struct {
	Plan     *plan.Plan
	State    *observe.State
	Result   *apply.Result
	LockWait time.Duration
}

// Apply takes the fleet's lock, observes, plans and, when approve agrees and
// the plan is not empty, runs it. The lock is released before returning.
func (r *Runner) Apply(ctx context.Context, spec *fleet.Spec, secrets fleet.Secrets, opt plan.Options, approve Approve) (out *Outcome, err error) {
	start := time.Now()
	locker, err := r.lockClient(spec) // hosts.go
	if err != nil {
		return nil, err
	}
	unlock, err := locker.LockReporting(ctx, spec.Fleet, r.Holder, r.LockWait, r.LockWaiting)
	if err != nil {
		return nil, err
	}
	out = &Outcome{LockWait: time.Since(start)}
	defer func() {
		if uerr := unlock(); uerr != nil && err == nil {
			err = fmt.Errorf("release lock: %w", uerr)
		}
	}()
	if out.Plan, out.State, err = r.Plan(ctx, spec, secrets, opt); err != nil {
		return out, err
	}
	// From here on adapters send secrets: every error and log line they
	// return is masked with what this pass knows (see pkg/redact).
	ctx = redact.NewContext(ctx, masker(secrets, out.Plan))
	if approve != nil {
		if err = approve(out.Plan); err != nil {
			return out, err
		}
	}
	if out.Plan.Empty() {
		return out, nil
	}
	ao := r.Exec
	if ao.ProbeHost == "" && r.Hosts == nil {
		ao.ProbeHost = r.Docker.ProbeHost()
	}
	if ao.Migration.Migrator == nil {
		ao.Migration.Migrator = Migrator{} // migrator.go
	}
	if spec.Sync != nil && ao.Sync == nil {
		ao.Sync = SyncProvisioner{} // syncprov.go
	}
	if spec.Sync != nil && r.Hosts == nil && out.State.SelfImage != "" {
		// The image the plan named for the sync nodes: imported once per
		// binary, now that the plan is approved.
		if _, err := r.Docker.EnsureSelfImage(ctx); err != nil {
			return out, err
		}
	}
	if spec.Sync != nil && r.Hosts != nil {
		if err := r.ensureSyncImage(ctx, out.Plan); err != nil { // hosts.go
			return out, err
		}
	}
	if deploysMonitoring(spec) && ao.Monitoring == nil {
		ao.Monitoring = MonitoringDeployer{} // monitoring.go
	}
	if sites := Sites(spec); sites != nil && ao.Proxy == nil {
		ao.Proxy = sites
	}
	if r.Hosts != nil {
		out.Result = r.runHosts(ctx, out.Plan, ao) // hosts.go
		return out, nil
	}
	out.Result = apply.Run(ctx, r.Docker, out.Plan, ao)
	return out, nil
}
