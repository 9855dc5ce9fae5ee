package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"text/tabwriter"

	"github.com/quantabase/fleetctl/pkg/backup"
	"github.com/quantabase/fleetctl/pkg/docker"
	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/plan"
	"github.com/quantabase/fleetctl/pkg/reconcile"
)

// openHosts connects to every host of a fleet with hosts; unreachable hosts
// are planned as such, so this never fails.
func openHosts(ctx context.Context, spec *fleet.Spec, secrets fleet.Secrets) *session {
	s := &session{spec: spec, secrets: secrets, hosts: reconcile.ConnectHosts(ctx, spec, secrets)}
	s.cli, _ = s.hosts.Client(spec.LockHostName())
	return s
}

// writeHosts prints one row per host under the client table of status.
func writeHosts(w io.Writer, p *plan.Plan) {
	if len(p.Hosts) == 0 {
		return
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tREACHABLE\tCLIENTS\tLOCK\tERROR")
	for _, h := range p.Hosts {
		reach, lock, msg := "yes", "", "-"
		if !h.Reachable {
			reach, msg = "NO", h.Error
		}
		if h.Lock {
			lock = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", h.Name, reach, len(h.Clients)+len(h.Unknown), dash(lock), msg)
	}
	tw.Flush()
}

// useClientHost points the session's engine at the host the client is
// placed on, for the commands that work on one client's container.
func (s *session) useClientHost(ctx context.Context, env *cliEnv, client string) bool {
	p, _, ok := s.plan(ctx, env, plan.Options{Targets: []string{client}})
	if !ok {
		return false
	}
	for _, h := range p.Hosts {
		if !slices.Contains(h.Clients, client) {
			continue
		}
		cli, err := s.hosts.Client(h.Name)
		if err != nil {
			fmt.Fprintf(env.stderr, "Error: client %s is on host %s: %v\n", client, h.Name, err)
			return false
		}
		s.cli = cli
		return true
	}
	fmt.Fprintf(env.stderr, "Error: client %s is not placed on any reachable host yet (run fleetctl apply)\n", client)
	return false
}

// connectLockHost connects to the engine that holds the fleet's lock: the
// lock host with hosts, else the one engine.
func connectLockHost(ctx context.Context, env *cliEnv, spec *fleet.Spec) (*docker.Client, bool) {
	if len(spec.Hosts) == 0 {
		return connect(ctx, env)
	}
	secrets, ok := resolveSecrets(env, spec)
	if !ok {
		return nil, false
	}
	h := spec.Host(spec.LockHostName())
	cli, err := docker.Dial(ctx, reconcile.Endpoint(h, secrets))
	if err != nil {
		fmt.Fprintf(env.stderr, "Error: lock host %s: %v\n", h.Name, err)
		return nil, false
	}
	return cli, true
}

// watchHosts connects to the hosts of fleet.yaml as it is when watch
// starts (nil when it has none or cannot be read yet: the daemon then
// drives the one engine). The hosts section is read once: changing it
// needs a restart of the daemon.
func watchHosts(ctx context.Context, file string) *reconcile.Hosts {
	spec, err := fleet.Load(file)
	if err != nil || len(spec.Hosts) == 0 {
		return nil
	}
	secrets, err := fleet.Resolver{BaseDir: filepath.Dir(spec.Path)}.Resolve(spec)
	if err != nil {
		return nil
	}
	return reconcile.ConnectHosts(ctx, spec, secrets)
}

// copyVolume is the volume copy of a move between hosts (pkg/backup).
func copyVolume(ctx context.Context, from, to *docker.Client, m *plan.Move) error {
	_, err := backup.Move(ctx, from, to, m.Fleet, m.Client, m.Volume)
	return err
}
