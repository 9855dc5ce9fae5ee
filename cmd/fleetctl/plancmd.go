package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/quantabase/fleetctl/pkg/plan"
)

// planFlags are shared by plan and apply.
type planFlags struct {
	file    string
	targets []string
	prune   bool
	adopt   bool
	trust   bool
	asJSON  bool
}

func (f *planFlags) register(c *cobra.Command) {
	fileFlag(c, &f.file)
	c.Flags().StringArrayVar(&f.targets, "target", nil, "limit the plan to `client.NAME` (repeatable)")
	_ = c.RegisterFlagCompletionFunc("target", completeTargets)
	c.Flags().BoolVar(&f.prune, "prune", false, "remove containers of clients deleted from fleet.yaml (never volumes)")
	c.Flags().BoolVar(&f.adopt, "adopt", false, "replace unmanaged containers named like a client (old scripts) by managed ones, keeping volumes")
	c.Flags().BoolVar(&f.trust, "trust-labels", false, "do not verify the running containers' image, env, ports, mounts and restart policy by inspect; trust their config labels")
	jsonFlag(c, &f.asJSON)
}

// set reports whether any option that shapes a plan was given.
func (f *planFlags) set() bool { return len(f.targets) > 0 || f.prune || f.adopt || f.trust }

// open loads the spec, resolves its secrets, connects to the engine and turns
// the flags into plan options; on failure it has printed why.
func (f *planFlags) open(ctx context.Context, env *cliEnv) (*session, plan.Options, bool) {
	s, ok := openSession(ctx, env, f.file, f.asJSON)
	if !ok {
		return nil, plan.Options{}, false
	}
	opt, ok := f.options(env, s)
	if !ok {
		s.close()
		return nil, plan.Options{}, false
	}
	return s, opt, true
}

func (f *planFlags) options(env *cliEnv, s *session) (plan.Options, bool) {
	t, ok := targets(env, s.spec, f.targets, f.prune)
	return plan.Options{Targets: t, Prune: f.prune, Adopt: f.adopt, TrustLabels: f.trust}, ok
}

func planCmd(env *cliEnv) *cobra.Command {
	var pf planFlags
	var detailed bool
	var out string
	c := &cobra.Command{
		Use:   "plan",
		Short: "show what apply would change",
		Long: "Observe the Docker host (and nginx's sites) and print what 'fleetctl apply' would do, each\n" +
			"action with its causes; secrets print as (sensitive). Read only: takes no lock.",
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return status(runPlan(c.Context(), env, &pf, detailed, out))
		},
	}
	pf.register(c)
	c.Flags().BoolVar(&detailed, "detailed-exitcode", false, "exit 0 when the fleet matches fleet.yaml, 2 when there are changes or clients down (Problems), 1 on error")
	c.Flags().StringVar(&out, "out", "", "save the plan to `FILE` for a later 'fleetctl apply FILE'")
	return c
}

func runPlan(ctx context.Context, env *cliEnv, pf *planFlags, detailed bool, out string) int {
	lessGC()
	s, opt, ok := pf.open(ctx, env)
	if !ok {
		return exitError
	}
	defer s.close()
	p, _, ok := s.plan(ctx, env, opt)
	if !ok {
		return exitError
	}
	if out != "" {
		env.intr.enter(phaseCleanup) // no half-written plan file
		err := savePlan(out, p)
		env.intr.enter(phaseIdle)
		if err != nil {
			fmt.Fprintf(env.stderr, "Error: %v\n", err)
			return exitError
		}
	}
	if pf.asJSON {
		if code := writeJSON(env, p); code != exitOK {
			return code
		}
	} else {
		if err := p.WriteText(env.stdout); err != nil {
			return exitError
		}
		if out != "" {
			fmt.Fprintf(env.stdout, "\nSaved the plan to %s (fleetctl show %s prints it again). Apply exactly it with: fleetctl apply -f %s %s\n", out, out, pf.file, out)
		}
	}
	switch {
	case len(p.Conflicts) > 0:
		return exitError
	case detailed && !p.Converged():
		return exitChanges // changes to make, or clients down: not converged
	}
	return exitOK
}

func savePlan(path string, p *plan.Plan) error {
	b, err := plan.Encode(p)
	if err != nil {
		return fmt.Errorf("save plan: %w", err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("save plan: %w", err)
	}
	return nil
}

func readPlan(path string) (*plan.Plan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read saved plan: %w", err)
	}
	p, err := plan.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("read saved plan %s: %w", path, err)
	}
	return p, nil
}
