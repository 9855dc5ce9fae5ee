package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/quantabase/fleetctl/pkg/docker"
	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/observe"
	"github.com/quantabase/fleetctl/pkg/plan"
	"github.com/quantabase/fleetctl/pkg/reconcile"
)

// loadSpec loads and validates fleet.yaml, printing every diagnostic.
func loadSpec(env *cliEnv, path string, asJSON bool) (*fleet.Spec, bool) {
	spec, err := fleet.Load(path)
	if err == nil {
		for _, w := range spec.Warnings {
			fmt.Fprintln(env.stderr, w) // FILE:LINE:COL: field: warning: ...
		}
		return spec, true
	}
	var diags *fleet.Diagnostics
	if asJSON {
		if !errors.As(err, &diags) { // the file could not be read at all
			diags = &fleet.Diagnostics{{File: path, Message: err.Error()}}
		}
		writeJSON(env, map[string]any{"valid": false, "errors": diags})
		return nil, false
	}
	fmt.Fprintln(env.stderr, err)
	return nil, false
}

// resolveSecrets reads every secret reference of the spec (never printing a value).
func resolveSecrets(env *cliEnv, spec *fleet.Spec) (fleet.Secrets, bool) {
	secrets, err := fleet.Resolver{BaseDir: filepath.Dir(spec.Path)}.Resolve(spec)
	if err != nil {
		fmt.Fprintf(env.stderr, "Error: %s: %v\n", spec.Path, err)
		return nil, false
	}
	return secrets, true
}

func connect(ctx context.Context, env *cliEnv) (*docker.Client, bool) {
	cli, err := docker.New(ctx)
	if err != nil {
		fmt.Fprintf(env.stderr, "Error: %v\n", err)
		return nil, false
	}
	return cli, true
}

// targets turns --target client.NAME flags into client names.
// A target must name a client of the spec, except with --prune, where it may
// name a client removed from fleet.yaml whose container is to go.
func targets(env *cliEnv, spec *fleet.Spec, flags []string, prune bool) ([]string, bool) {
	var out []string
	for _, t := range flags {
		name, ok := strings.CutPrefix(t, "client.")
		if !ok || name == "" {
			fmt.Fprintf(env.stderr, "Error: --target %q: expected client.NAME\n", t)
			return nil, false
		}
		if spec.Client(name) == nil && !prune {
			fmt.Fprintf(env.stderr, "Error: --target %q: no client %q in %s (to remove a deleted client's container, add --prune)\n", t, name, spec.Path)
			return nil, false
		}
		out = append(out, name)
	}
	return out, true
}

func writeJSON(env *cliEnv, v any) int {
	enc := json.NewEncoder(env.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		fmt.Fprintf(env.stderr, "Error: %v\n", err)
		return exitError
	}
	return exitOK
}

// session is a loaded spec with its secrets and an engine connection;
// plan, apply and status share it.
type session struct {
	spec    *fleet.Spec
	secrets fleet.Secrets
	// cli is the engine without hosts; with hosts it is the lock host's
	// (nil while that host cannot be reached) and hosts holds them all.
	cli   *docker.Client
	hosts *reconcile.Hosts
	// unresolved: clients whose secrets are missing (read-only sessions only).
	unresolved map[string][]fleet.SecretRef
	missing    *fleet.SecretError
}

// lessGC lets a read-only one-shot command (plan, status) collect garbage
// less often: it allocates a few MB and exits, and a default GC cycle or two
// cost it about a tenth of its CPU time. GOGC, when set, is left as it is.
func lessGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
}

func openSession(ctx context.Context, env *cliEnv, path string, asJSON bool) (*session, bool) {
	dial := dialEarly(ctx)
	spec, ok := loadSpec(env, path, asJSON)
	if !ok {
		dial.discard()
		return nil, false
	}
	secrets, ok := resolveSecrets(env, spec)
	if !ok {
		dial.discard()
		return nil, false
	}
	if len(spec.Hosts) > 0 {
		dial.discard()
		return openHosts(ctx, spec, secrets), true // hosts.go
	}
	cli, ok := dial.wait(env)
	if !ok {
		return nil, false
	}
	return &session{spec: spec, secrets: secrets, cli: cli}, true
}

// earlyDial is the engine connection (DOCKER_HOST) made while fleet.yaml
// loads: the ping's round trip overlaps the parse and the schema check
// instead of following them. Its error is printed only when the spec turns
// out to need it (no hosts).
type earlyDial struct {
	ctx context.Context
	ch  chan dialResult // nil: not started (ssh), dial on wait
}

type dialResult struct {
	cli *docker.Client
	err error
}

func dialEarly(ctx context.Context) earlyDial {
	if strings.HasPrefix(os.Getenv("DOCKER_HOST"), "ssh://") {
		// An ssh engine runs a process that may ask for a passphrase: only
		// when fleet.yaml says it is the engine to use.
		return earlyDial{ctx: ctx}
	}
	ch := make(chan dialResult, 1)
	go func() {
		cli, err := docker.New(ctx)
		ch <- dialResult{cli, err}
	}()
	return earlyDial{ctx: ctx, ch: ch}
}

func (d earlyDial) wait(env *cliEnv) (*docker.Client, bool) {
	if d.ch == nil {
		return connect(d.ctx, env)
	}
	r := <-d.ch
	if r.err != nil {
		fmt.Fprintf(env.stderr, "Error: %v\n", r.err)
		return nil, false
	}
	return r.cli, true
}

// discard closes the connection when it arrives; nobody waits for it.
func (d earlyDial) discard() {
	if d.ch == nil {
		return
	}
	go func() {
		if r := <-d.ch; r.cli != nil {
			r.cli.Close()
		}
	}()
}

func (s *session) runner(cmd string, lockWait time.Duration) *reconcile.Runner {
	return &reconcile.Runner{Docker: s.cli, Hosts: s.hosts, Holder: docker.Holder("fleetctl " + cmd), LockWait: lockWait, CopyVolume: copyVolume}
}

func (s *session) plan(ctx context.Context, env *cliEnv, opt plan.Options) (*plan.Plan, *observe.State, bool) {
	p, st, err := s.runner("plan", 0).Plan(ctx, s.spec, s.secrets, opt)
	if err != nil {
		fmt.Fprintf(env.stderr, "Error: %v\n", err)
		return nil, nil, false
	}
	return p, st, true
}

func (s *session) close() {
	if s.hosts != nil {
		s.hosts.Close()
		return
	}
	s.cli.Close()
}
