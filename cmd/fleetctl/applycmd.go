package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/quantabase/fleetctl/pkg/apply"
	"github.com/quantabase/fleetctl/pkg/docker"
	"github.com/quantabase/fleetctl/pkg/plan"
)

// applyFlags are apply's own flags (planFlags and migrateFlags aside).
type applyFlags struct {
	auto     bool
	par      int
	lockWait time.Duration
}

func applyCmd(env *cliEnv) *cobra.Command {
	var pf planFlags
	var af applyFlags
	var mf *migrateFlags
	c := &cobra.Command{
		Use:   "apply [PLAN_FILE]",
		Short: "make the Docker host match fleet.yaml",
		Long: "Take the fleet's lock, plan, ask for confirmation and run the plan: in order, health-gated,\n" +
			"stop-first for SQLite clients, rolling back a replacement that does not become healthy.\n" +
			"With PLAN_FILE (from 'fleetctl plan --out'), run exactly that plan, or refuse it when it is stale.\n" +
			"An interrupt while apply waits for the lock or for confirmation ends it at once (the lock is\n" +
			"released, nothing changed); once actions run, the first interrupt starts no new action and\n" +
			"lets those under way finish or roll back, a second abandons them (the next apply resumes safely).",
		Args: maxArgs(1, "a saved plan file"),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return []string{"json"}, cobra.ShellCompDirectiveFilterFileExt
		},
		RunE: func(c *cobra.Command, args []string) error {
			if err := validOrphans(*mf.orphans); err != nil {
				return err
			}
			return status(runApply(c.Context(), env, &pf, &af, mf, args))
		},
	}
	pf.register(c)
	c.Flags().BoolVar(&af.auto, "auto-approve", false, "apply without asking for confirmation")
	parallelismFlag(c, &af.par)
	c.Flags().DurationVar(&af.lockWait, "lock-timeout", 2*time.Minute, "how long to wait for another fleetctl holding the fleet's lock")
	mf = registerMigrateFlags(c) // db.go
	return c
}

func runApply(ctx context.Context, env *cliEnv, pf *planFlags, af *applyFlags, mf *migrateFlags, args []string) int {
	var saved *plan.Plan
	if len(args) == 1 && pf.set() {
		fmt.Fprintln(env.stderr, "Error: --target, --prune, --adopt and --trust-labels belong to 'fleetctl plan' when applying a saved plan (it keeps the options it was made with)")
		return exitError
	}
	if len(args) == 1 {
		var err error
		if saved, err = readPlan(args[0]); err != nil {
			fmt.Fprintf(env.stderr, "Error: %v\n", err)
			return exitError
		}
	}
	s, opt, ok := pf.open(ctx, env)
	if !ok {
		return exitError
	}
	defer s.close()
	if saved != nil {
		opt = saved.Options
	}

	out := env.stdout
	if pf.asJSON {
		out = env.stderr // people's output goes to stderr; stdout carries the JSON result
	}
	warnUnreachableHealth(env, s)
	r := s.runner("apply", af.lockWait)
	r.Exec = apply.Options{Parallelism: af.par, Progress: progressPrinter(out), Migration: mf.options(out)}
	r.LockWaiting = func(info docker.LockInfo) {
		fmt.Fprintf(env.stderr, "Waiting for the lock of fleet %q (up to %s, --lock-timeout): held by %s; the holder is %s. Nothing has changed yet; Ctrl-C stops waiting.\n",
			s.spec.Fleet, af.lockWait, info, info.Liveness())
	}
	// Until the plan is approved nothing changes, but the lock must be
	// released on the way out: an interrupt cancels and apply returns.
	env.intr.enter(phaseCleanup)
	defer env.intr.enter(phaseIdle)
	outcome, err := r.Apply(ctx, s.spec, s.secrets, opt, func(p *plan.Plan) error {
		if saved != nil {
			if msg := plan.Stale(saved, p); msg != "" {
				return fmt.Errorf("the saved plan is stale: %s. Run 'fleetctl plan' again", msg)
			}
		}
		if err := p.WriteText(out); err != nil {
			return err
		}
		if *mf.force {
			for _, a := range p.Actions {
				if a.Kind == plan.KindMigrateDatabase {
					fmt.Fprintf(out, "DATA WILL BE DELETED: --force empties the tables of %s that already hold rows before copying client %s into them.\n\n",
						a.Migration.Target, a.Client)
				}
			}
		}
		if !p.Empty() && !af.auto && saved == nil && !confirm(ctx, env, out) {
			return errors.New("apply cancelled")
		}
		fmt.Fprintln(out)
		if ctx.Err() == nil {
			env.intr.enter(phaseChange)
		}
		return nil
	})
	if err != nil {
		if !env.intr.stoppedEarly() {
			fmt.Fprintf(env.stderr, "Error: %v\n", err)
		}
		return exitError
	}
	return finishApply(env, pf.asJSON, outcome.Plan, outcome.Result)
}

// warnUnreachableHealth warns when the engine is remote and clients publish
// on its loopback: the health gate probes from this machine and would time
// out (and roll back) every replacement.
func warnUnreachableHealth(env *cliEnv, s *session) {
	if s.hosts != nil {
		return // with hosts each engine has its own address (see README)
	}
	host := s.cli.ProbeHost()
	if host == "127.0.0.1" || host == "localhost" {
		return
	}
	for i := range s.spec.Clients {
		if ip := net.ParseIP(s.spec.Clients[i].BindAddress); ip != nil && ip.IsLoopback() {
			fmt.Fprintf(env.stderr, "Warning: the Docker engine is remote (%s) but client %s publishes on %s there: "+
				"health checks from this machine cannot reach it. Set bindAddress to an address of that host this machine can reach.\n",
				host, s.spec.Clients[i].Name, s.spec.Clients[i].BindAddress)
			return
		}
	}
}

// confirm asks on stdin; an interrupt while waiting answers no.
func confirm(ctx context.Context, env *cliEnv, out io.Writer) bool {
	fmt.Fprint(out, "Do you want to perform these actions? Only 'yes' will be accepted: ")
	answer := make(chan string, 1)
	go func() {
		line, err := bufio.NewReader(env.stdin).ReadString('\n')
		if err != nil && line == "" {
			fmt.Fprintln(out)
			fmt.Fprintln(env.stderr, "No answer on standard input (use --auto-approve in scripts).")
		}
		answer <- strings.TrimSpace(line)
	}()
	select {
	case a := <-answer:
		return a == "yes"
	case <-ctx.Done():
		fmt.Fprintln(out)
		return false
	}
}

func progressPrinter(w io.Writer) func(apply.Event) {
	return func(e apply.Event) {
		a := e.Action
		switch e.Phase {
		case apply.PhaseStart:
			fmt.Fprintf(w, "%s %s: %s...\n", a.Kind.Symbol(), a.Object, verb(a.Kind))
		case apply.PhaseDone:
			fmt.Fprintf(w, "%s %s: done (%s)\n", a.Kind.Symbol(), a.Object, e.Duration.Round(100*time.Millisecond))
		case apply.PhaseFailed:
			fmt.Fprintf(w, "! %s: FAILED after %s: %v\n", a.Object, e.Duration.Round(100*time.Millisecond), e.Err)
		case apply.PhaseSkipped:
			fmt.Fprintf(w, "! %s: skipped (a dependency failed or the run was interrupted)\n", a.Object)
		}
	}
}

func verb(k plan.Kind) string {
	switch k {
	case plan.KindPullImage:
		return "pulling"
	case plan.KindCreateVolume:
		return "creating volume"
	case plan.KindCreateContainer:
		return "creating, starting, waiting for health"
	case plan.KindRecreateContainer:
		return "replacing (stop-first), waiting for health"
	case plan.KindStartContainer:
		return "starting, waiting for health"
	case plan.KindStopContainer:
		return "stopping"
	case plan.KindRestartContainer:
		return "restarting, waiting for health"
	case plan.KindRemoveContainer:
		return "removing container"
	case plan.KindSyncSites:
		return "writing nginx site files, testing, reloading once"
	case plan.KindWriteMonitoring:
		return "writing the rendered monitoring files atomically"
	case plan.KindReloadPrometheus:
		return "reloading Prometheus (POST /-/reload), checking that it took"
	case plan.KindMigrateDatabase:
		return "migrating SQLite → PostgreSQL (preflight, stop, backup, schema, copy, verify, switch)"
	}
	return string(k)
}

// applyReport is apply's --json output.
type applyReport struct {
	Plan    *plan.Plan        `json:"plan"`
	Done    []string          `json:"done"`
	Failed  map[string]string `json:"failed"`
	Skipped []string          `json:"skipped"`
	// Down are the clients left down that no action of the plan addressed
	// (a crash loop apply does not recreate again and again).
	Down    []plan.Down `json:"problems"`
	Success bool        `json:"success"`
}

func finishApply(env *cliEnv, asJSON bool, p *plan.Plan, res *apply.Result) int {
	rep := applyReport{Plan: p, Done: []string{}, Failed: map[string]string{}, Skipped: []string{}}
	if res != nil {
		rep.Done = append(rep.Done, res.Done...)
		rep.Skipped = append(rep.Skipped, res.Skipped...)
		for id, err := range res.Failed {
			rep.Failed[id] = err.Error()
		}
		sort.Strings(rep.Done)
		sort.Strings(rep.Skipped)
	}
	rep.Down = []plan.Down{}
	for _, d := range p.Down {
		if d.Action == "" { // a start that failed is already in Failed
			rep.Down = append(rep.Down, d)
		}
	}
	rep.Success = len(rep.Failed) == 0 && len(rep.Skipped) == 0 && len(p.Conflicts) == 0 && len(rep.Down) == 0
	if asJSON {
		writeJSON(env, rep)
	}
	out := env.stdout
	if asJSON {
		out = env.stderr
	}
	if res != nil {
		if err := res.Err(); err != nil {
			fmt.Fprintf(out, "\nError: %v\n", err)
		}
		s := p.Summary
		fmt.Fprintf(out, "\nApply %s: %d of %d action(s) done (%d to add, %d to change, %d to destroy planned).\n",
			map[bool]string{true: "complete", false: "incomplete"}[rep.Success && res.Err() == nil],
			len(rep.Done), len(p.Actions), s.Add, s.Change, s.Destroy)
	}
	reportRollouts(out, p, res) // opsapply.go
	if len(p.Conflicts) > 0 {
		fmt.Fprintf(out, "%d client(s) left unchanged because of conflicts (see above).\n", len(p.Conflicts))
	}
	for _, d := range rep.Down {
		fmt.Fprintf(out, "Error: %s is %s: its container matches fleet.yaml, so apply does not recreate it again; fix the cause in its logs (above) or change its config.\n",
			d.Who(), d.Message)
	}
	if !rep.Success {
		return exitError
	}
	return exitOK
}
