package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/quantabase/fleetctl/pkg/apply"
	"github.com/quantabase/fleetctl/pkg/docker"
	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/observe"
	"github.com/quantabase/fleetctl/pkg/plan"
	"github.com/quantabase/fleetctl/pkg/reconcile"
)

// The day-2 verbs (stop, start, restart, rollback, destroy) share one shape:
// an edit of fleet.yaml (printed as a diff, written atomically), then the
// normal plan and apply of the clients they name, under the fleet's lock.
// fleet.yaml stays the source of truth, so watch never undoes them.

// opsFlags are the flags the day-2 verbs share.
type opsFlags struct {
	file     string
	all      bool
	asJSON   bool
	lockWait time.Duration
	par      int
	// quietPlan: the verb has shown the plan already (destroy's preview).
	quietPlan bool
}

func (f *opsFlags) register(c *cobra.Command, all bool) {
	fileFlag(c, &f.file)
	jsonFlag(c, &f.asJSON)
	if all {
		c.Flags().BoolVar(&f.all, "all", false, "every client of fleet.yaml")
	}
	c.Flags().DurationVar(&f.lockWait, "lock-timeout", 2*time.Minute, "how long to wait for another fleetctl holding the fleet's lock")
	parallelismFlag(c, &f.par)
	c.ValidArgsFunction = completeManyClients
}

// completeManyClients completes client names for verbs taking CLIENT...
func completeManyClients(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	given := map[string]bool{}
	for _, a := range args {
		given[a] = true
	}
	var out []string
	for _, n := range clientNames(c) {
		if !given[n] && strings.HasPrefix(n, toComplete) {
			out = append(out, n)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// clientArgs checks that CLIENT... names clients of spec (or --all).
func clientArgs(env *cliEnv, spec *fleet.Spec, args []string, all bool) ([]string, bool) {
	switch {
	case all && len(args) > 0:
		fmt.Fprintln(env.stderr, "Error: give client names or --all, not both")
		return nil, false
	case all:
		names := make([]string, len(spec.Clients))
		for i := range spec.Clients {
			names[i] = spec.Clients[i].Name
		}
		return names, true
	case len(args) == 0:
		fmt.Fprintln(env.stderr, "Error: name at least one client (or --all)")
		return nil, false
	}
	for _, a := range args {
		if spec.Client(a) == nil {
			fmt.Fprintf(env.stderr, "Error: no client %q in %s\n", a, spec.Path)
			return nil, false
		}
	}
	return args, true
}

// editFleetFile applies edit to the file, prints the diff and writes it;
// unchanged files are left alone. It reports whether the file changed.
func editFleetFile(env *cliEnv, path string, edit func([]byte) ([]byte, error)) (bool, error) {
	before, err := os.ReadFile(path)
	if err != nil {
		return false, err
	}
	after, err := edit(before)
	if err != nil {
		return false, err
	}
	d := fleet.Diff(path, before, after)
	if d == "" {
		return false, nil
	}
	out := env.stdout
	fmt.Fprint(out, d)
	fmt.Fprintln(out)
	if err := fleet.WriteFileAtomic(path, after); err != nil {
		return false, err
	}
	return true, nil
}

// applyClients reloads fleet.yaml and runs the normal apply of the clients
// (no confirmation: the verb was the operator's decision), printing the plan
// and the progress. approve, when set, sees the plan first and may refuse it.
func applyClients(ctx context.Context, env *cliEnv, f *opsFlags, opt plan.Options, approve func(*plan.Plan) error) int {
	s, ok := openSession(ctx, env, f.file, f.asJSON)
	if !ok {
		return exitError
	}
	defer s.close()
	out := env.stdout
	if f.asJSON {
		out = env.stderr
	}
	r := s.runner("apply", f.lockWait)
	r.Exec = apply.Options{Parallelism: f.par, Progress: progressPrinter(out)}
	r.LockWaiting = func(info docker.LockInfo) {
		fmt.Fprintf(env.stderr, "Waiting for the lock of fleet %q (up to %s, --lock-timeout): held by %s; the holder is %s.\n",
			s.spec.Fleet, f.lockWait, info, info.Liveness())
	}
	env.intr.enter(phaseCleanup)
	defer env.intr.enter(phaseIdle)
	outcome, err := r.Apply(ctx, s.spec, s.secrets, opt, func(p *plan.Plan) error {
		if !f.quietPlan {
			if err := p.WriteText(out); err != nil {
				return err
			}
		}
		if approve != nil {
			if err := approve(p); err != nil {
				return err
			}
		}
		fmt.Fprintln(out)
		if ctx.Err() != nil {
			return errors.New("interrupted")
		}
		env.intr.enter(phaseChange)
		return nil
	})
	if err != nil {
		if !env.intr.stoppedEarly() {
			fmt.Fprintf(env.stderr, "Error: %v\n", err)
		}
		return exitError
	}
	return finishApply(env, f.asJSON, outcome.Plan, outcome.Result)
}

// observeOnly takes a snapshot of the fleet, without resolving its secrets
// when it has one engine (with hosts, connecting to them may need them).
func observeOnly(ctx context.Context, env *cliEnv, spec *fleet.Spec) (*observe.State, bool) {
	if len(spec.Hosts) > 0 {
		secrets, ok := resolveSecrets(env, spec)
		if !ok {
			return nil, false
		}
		s := openHosts(ctx, spec, secrets) // hosts.go
		defer s.close()
		st, err := s.runner("list", 0).Observe(ctx, spec)
		if err != nil {
			fmt.Fprintf(env.stderr, "Error: %v\n", err)
			return nil, false
		}
		return st, true
	}
	cli, ok := connect(ctx, env)
	if !ok {
		return nil, false
	}
	defer cli.Close()
	st, err := (&reconcile.Runner{Docker: cli}).Observe(ctx, spec)
	if err != nil {
		fmt.Fprintf(env.stderr, "Error: %v\n", err)
		return nil, false
	}
	return st, true
}

// reportRollouts says, for each rollout that stopped, which client failed
// and which were not updated.
func reportRollouts(out io.Writer, p *plan.Plan, res *apply.Result) {
	if res == nil {
		return
	}
	skipped := map[string]bool{}
	for _, id := range res.Skipped {
		skipped[id] = true
	}
	for _, r := range p.Rollouts {
		failed, stopped := res.Stopped[r.ID]
		if !stopped {
			continue
		}
		var left []string
		for _, id := range r.Members {
			if skipped[id] {
				left = append(left, strings.TrimPrefix(id, "container."))
			}
		}
		fmt.Fprintf(out, "Rollout of %s stopped: %s failed (rolled back to its previous container).\n", r.Image, strings.TrimPrefix(failed, "container."))
		if len(left) > 0 {
			fmt.Fprintf(out, "Not updated (still on their old image): %s.\n", strings.Join(left, ", "))
		}
	}
}
