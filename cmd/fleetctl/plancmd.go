package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/quantabase/fleetctl/pkg/plan"
)

// planFlags are shared by plan and apply.
type planFlags struct {
	file    *string
	targets stringList
	prune   *bool
	adopt   *bool
	asJSON  *bool
}

func (f *planFlags) register(fs *flag.FlagSet) {
	f.file = fs.String("f", "fleet.yaml", "path to fleet.yaml")
	fs.Var(&f.targets, "target", "limit to client.NAME (repeatable)")
	f.prune = fs.Bool("prune", false, "remove containers of clients deleted from fleet.yaml (never volumes)")
	f.adopt = fs.Bool("adopt", false, "replace unmanaged containers named like a client (old scripts) by managed ones, keeping volumes")
	f.asJSON = fs.Bool("json", false, "print JSON for programs")
}

// set reports whether any option that shapes a plan was given.
func (f *planFlags) set() bool { return len(f.targets) > 0 || *f.prune || *f.adopt }

// open loads the spec, resolves its secrets, connects to the engine and turns
// the flags into plan options; on failure it has printed why.
func (f *planFlags) open(ctx context.Context, env *cliEnv) (*session, plan.Options, bool) {
	s, ok := openSession(ctx, env, *f.file, *f.asJSON)
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
	t, ok := targets(env, s.spec, f.targets, *f.prune)
	return plan.Options{Targets: t, Prune: *f.prune, Adopt: *f.adopt}, ok
}

func runPlan(ctx context.Context, env *cliEnv, args []string) int {
	fs := newFlags("plan", env)
	var pf planFlags
	pf.register(fs)
	detailed := fs.Bool("detailed-exitcode", false, "exit 0 when there are no changes, 2 when there are, 1 on error")
	out := fs.String("out", "", "save the plan to this file for a later 'fleetctl apply FILE'")
	if fs.Parse(args) != nil {
		return exitError
	}
	s, opt, ok := pf.open(ctx, env)
	if !ok {
		return exitError
	}
	defer s.close()
	p, _, ok := s.plan(ctx, env, opt)
	if !ok {
		return exitError
	}
	if *out != "" {
		if err := savePlan(*out, p); err != nil {
			fmt.Fprintf(env.stderr, "Error: %v\n", err)
			return exitError
		}
	}
	if *pf.asJSON {
		if code := writeJSON(env, p); code != exitOK {
			return code
		}
	} else {
		if err := p.WriteText(env.stdout); err != nil {
			return exitError
		}
		if *out != "" {
			fmt.Fprintf(env.stdout, "\nSaved the plan to %s. Apply exactly it with: fleetctl apply -f %s %s\n", *out, *pf.file, *out)
		}
	}
	switch {
	case len(p.Conflicts) > 0:
		return exitError
	case *detailed && !p.Empty():
		return exitChanges
	}
	return exitOK
}

func savePlan(path string, p *plan.Plan) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("save plan: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("save plan: %w", err)
	}
	return nil
}

func readPlan(path string) (*plan.Plan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read saved plan: %w", err)
	}
	var p plan.Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("read saved plan %s: %w", path, err)
	}
	if p.FormatVersion != 1 {
		return nil, fmt.Errorf("read saved plan %s: unsupported formatVersion %d", path, p.FormatVersion)
	}
	return &p, nil
}
