package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/quantabase/fleetctl/pkg/certify"
	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/redact"
)

func certifyCmd(env *cliEnv) *cobra.Command {
	var file, junit string
	var asJSON bool
	c := &cobra.Command{
		Use:   "certify",
		Short: "drill the live sync deployment: security, HA failover, conflict strategies, state authority",
		Long: "Run the certification checks against the sync nodes of fleet.yaml's sync: section and its\n" +
			"target database, each reported with its measured figure: the nodes' role cannot create roles,\n" +
			"read other schemas or drop what it does not own; the admin API refuses no token and a wrong\n" +
			"one and accepts the fleet's; /health and /metrics carry no secret; each conflict strategy end\n" +
			"to end through the nodes on their certification canary (written through the leader's admin\n" +
			"API, never a client's data); docker kill of the leader's container and the time until the\n" +
			"other node leads and completed a pass (the killed one is started again); the watermarks\n" +
			"survive that restart; a column added to the canary reaches the target when the leader's\n" +
			"cached shape expires. Disruptive: run it on a deployment that may fail over.\n" +
			"Exits 1 when a check fails.",
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return status(runCertify(c.Context(), env, file, junit, asJSON))
		},
	}
	fileFlag(c, &file)
	jsonFlag(c, &asJSON)
	c.Flags().StringVar(&junit, "junit", "", "also write the checks as JUnit XML to `FILE`")
	return c
}

func runCertify(ctx context.Context, env *cliEnv, file, junit string, asJSON bool) int {
	spec, ok := loadSpec(env, file, asJSON)
	if !ok {
		return exitError
	}
	if spec.Sync == nil {
		fmt.Fprintf(env.stderr, "Error: %s has no sync: section\n", spec.Path)
		return exitError
	}
	secrets, ok := resolveSecrets(env, spec)
	if !ok {
		return exitError
	}
	url := spec.Sync.Target.TargetURL(secrets)
	ctx = redact.NewContext(ctx, secrets.Masker(url))
	cli, ok := connect(ctx, env)
	if !ok {
		return exitError
	}
	defer cli.Close()
	_, _, lease, _ := spec.Sync.Timings()
	t := certify.Target{URL: url, MetaSchema: spec.Sync.MetaSchema(), Namespace: spec.Sync.Namespace, Role: fleet.SyncRoleName(spec.Fleet, spec.Sync.Namespace),
		AdminToken: secrets.Value(spec.Sync.AdminToken), Lease: lease}
	for _, v := range secrets {
		t.Secrets = append(t.Secrets, v)
	}
	t.Secrets = append(t.Secrets, url)
	for _, c := range spec.SyncedClients() {
		t.Clients = append(t.Clients, c.Name)
	}
	host := spec.Sync.SyncBindAddress()
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	for _, n := range spec.Sync.NodeList() {
		t.Nodes = append(t.Nodes, certify.Node{Name: n.Name, BaseURL: "http://" + net.JoinHostPort(host, strconv.Itoa(n.Port))})
	}
	if !asJSON {
		fmt.Fprintf(env.stderr, "Certifying %d sync nodes of fleet %s (this kills the leader once)...\n", len(t.Nodes), spec.Fleet)
	}
	r := certify.Run(ctx, t, cli)
	if junit != "" {
		if err := writeJUnit(junit, r); err != nil {
			fmt.Fprintf(env.stderr, "Error: %v\n", err)
			return exitError
		}
	}
	if asJSON {
		if code := writeJSON(env, r); code != exitOK {
			return code
		}
	} else {
		r.Text(env.stdout)
	}
	if !r.OK {
		return exitError
	}
	return exitOK
}

func writeJUnit(path string, r certify.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	if err := r.JUnit(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	return nil
}
