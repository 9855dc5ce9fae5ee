package main

import (
	"context"
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	fleetstatus "github.com/quantabase/fleetctl/pkg/status"
)

func statusCmd(env *cliEnv) *cobra.Command {
	var file string
	var asJSON bool
	c := &cobra.Command{
		Use:   "status",
		Short: "one row per client: state, health, the probe it is gated on, drift",
		Long: "One row per client, from the running containers (inspect) rather than their labels:\n" +
			"STATE is running, absent, blocked, 'crash-looping (N restarts)' or 'exited (code N)'; HEALTH is the\n" +
			"answer of the endpoint in GATE (/ready, or /health where the image answers 404 on /ready);\n" +
			"DRIFT is what 'fleetctl plan' would do. Exits 0 even when a client is down (see plan --detailed-exitcode).\n" +
			"Needs Docker access only: a client whose config needs a secret that is not set shows DRIFT\n" +
			"'unknown: needs secrets (REF)', and a warning names what to export.",
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return status(runStatus(c.Context(), env, file, asJSON))
		},
	}
	fileFlag(c, &file)
	jsonFlag(c, &asJSON)
	return c
}

func runStatus(ctx context.Context, env *cliEnv, file string, asJSON bool) int {
	lessGC()
	s, ok := openReadOnly(ctx, env, file, asJSON) // readonly.go: works without secrets
	if !ok {
		return exitError
	}
	defer s.close()
	s.warnMissing(env)
	p, st, ok := s.plan(ctx, env, s.readOnlyOptions())
	if !ok {
		return exitError
	}
	rows := fleetstatus.Rows(s.spec, st, p)
	for i := range rows {
		if d, unknown := s.unknownDrift(rows[i].Client); unknown {
			rows[i].Drift = d
		}
	}
	if asJSON {
		out := map[string]any{"fleet": s.spec.Fleet, "clients": rows, "orphans": p.Orphans, "problems": p.Down}
		if len(p.Hosts) > 0 {
			out["hosts"] = p.Hosts
		}
		return writeJSON(env, out)
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT\tSTATE\tHEALTH\tGATE\tPORT\tDOMAIN\tIMAGE\tDB\tDRIFT")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Client, r.State, r.Health, r.Gate,
			strconv.Itoa(r.Port), dash(r.Domain), r.Image, r.Database, r.Drift)
	}
	tw.Flush()
	writeHosts(env.stdout, p) // hosts.go
	for _, o := range p.Orphans {
		fmt.Fprintf(env.stdout, "orphan: %s (client %s, not in fleet.yaml)\n", o.Container, o.Client)
	}
	return exitOK
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
