package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/plan"
)

// Read-only verbs (status, db show) work with Docker access alone: a secret
// that is not set makes unknown only what needs it. Verbs that change
// anything open their session with openSession, which needs every secret.

// openReadOnly is openSession for verbs that change nothing: secrets that
// do not resolve are left out, s.unresolved says which clients need them
// and s.warnMissing names them.
func openReadOnly(ctx context.Context, env *cliEnv, path string, asJSON bool) (*session, bool) {
	spec, ok := loadSpec(env, path, asJSON)
	if !ok {
		return nil, false
	}
	secrets, missing := fleet.Resolver{BaseDir: filepath.Dir(spec.Path)}.ResolveAvailable(spec)
	var s *session
	if len(spec.Hosts) > 0 {
		s = openHosts(ctx, spec, secrets) // hosts.go
	} else {
		cli, ok := connect(ctx, env)
		if !ok {
			return nil, false
		}
		s = &session{spec: spec, secrets: secrets, cli: cli}
	}
	s.unresolved, s.missing = spec.Unresolved(secrets), missing
	return s, true
}

// warnMissing names on stderr every secret a read-only session lacks, and
// what to export (never a value).
func (s *session) warnMissing(env *cliEnv) {
	if s.missing != nil {
		fmt.Fprintf(env.stderr, "Warning: %s: %v\nRead only, so fleetctl goes on: what needs them shows as unknown.%s\n",
			s.spec.Path, s.missing, exportHint(s.missing.Refs))
	}
}

// exportHint names the environment variables to set (never a value).
func exportHint(refs []fleet.SecretRef) string {
	var names []string
	for _, r := range refs {
		if kind, name, ok := r.Parse(); ok && kind == "env" {
			names = append(names, name+"=...")
		}
	}
	if len(names) == 0 {
		return ""
	}
	return " To see everything: export " + strings.Join(names, " ")
}

// readOnlyOptions leaves out of the plan the clients whose config needs a
// secret that is missing: their drift cannot be computed (the config hash is
// keyed with secrets), and without them they are not orphans either.
func (s *session) readOnlyOptions() plan.Options {
	var opt plan.Options
	for name := range s.unresolved {
		opt.Exclude = append(opt.Exclude, name)
	}
	sort.Strings(opt.Exclude)
	return opt
}

// unknownDrift is the drift of a client whose config needs missing secrets
// (ok false for a client whose drift the plan knows).
func (s *session) unknownDrift(client string) (string, bool) {
	refs := s.unresolved[client]
	if len(refs) == 0 {
		return "", false
	}
	return "unknown: needs secrets (" + refList(refs) + ")", true
}

func refList(refs []fleet.SecretRef) string {
	parts := make([]string, len(refs))
	for i, r := range refs {
		parts[i] = string(r)
	}
	return strings.Join(parts, ", ")
}
