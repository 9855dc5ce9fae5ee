package main

import (
	"context"
	"fmt"
	"net"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/quantabase/fleetctl/pkg/redact"
	"github.com/quantabase/fleetctl/pkg/replicate"
)

func syncCmd(env *cliEnv) *cobra.Command {
	c := group(env, &cobra.Command{
		Use:   "sync",
		Short: "the HA sync service (fleet.yaml's sync: section): its state as PostgreSQL records it",
	})
	c.AddCommand(syncStatusCmd(env))
	return c
}

func syncStatusCmd(env *cliEnv) *cobra.Command {
	var file string
	var asJSON bool
	c := &cobra.Command{
		Use:   "status",
		Short: "the leader, the term, each node's heartbeat, and each client's lag, last sync and open conflicts",
		Long: "Read the sync service's state from the target database (sync.target in fleet.yaml): who\n" +
			"holds the lease and for which term, each node's last heartbeat, and per client the time since\n" +
			"the start of its last complete pass (every older change is in PostgreSQL), the last job's\n" +
			"outcome and the conflicts waiting for a manual resolution.",
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return status(runSyncStatus(c.Context(), env, file, asJSON))
		},
	}
	fileFlag(c, &file)
	jsonFlag(c, &asJSON)
	return c
}

func runSyncStatus(ctx context.Context, env *cliEnv, file string, asJSON bool) int {
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
	ctx = redact.NewContext(ctx, secrets.Masker())
	var names []string
	for _, c := range spec.SyncedClients() {
		names = append(names, c.Name)
	}
	target := spec.Sync.Target.TargetURL(secrets)
	// Preflight: the host's IPv4/IPv6 addresses and which family connects
	// (Supabase's direct hosts are IPv6-only).
	reach := replicate.CheckReachability(ctx, target, 3*time.Second)
	st, err := replicate.ReadStatus(ctx, target, spec.Sync.MetaSchema(), names)
	if err != nil {
		fmt.Fprintf(env.stderr, "Error: %v\n", err)
		fmt.Fprintf(env.stderr, "%s\n", reachLine(reach))
		if reach.Advice != "" {
			fmt.Fprintf(env.stderr, "Hint: %s\n", reach.Advice)
		}
		return exitError
	}
	st.Target = &reach
	if asJSON {
		return writeJSON(env, st)
	}
	fmt.Fprintf(env.stdout, "%s\n", reachLine(reach))
	if reach.Advice != "" {
		fmt.Fprintf(env.stdout, "Hint: %s\n", reach.Advice)
	}
	leader := st.Leader
	if leader == "" {
		leader = "none (no live lease)"
	}
	fmt.Fprintf(env.stdout, "Leader: %s   term %d", leader, st.Term)
	if st.LeaseExpires != nil {
		fmt.Fprintf(env.stdout, "   lease until %s", st.LeaseExpires.UTC().Format(time.RFC3339))
	}
	fmt.Fprintln(env.stdout)
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nNODE\tLEADER\tHEARTBEAT")
	for _, n := range st.Nodes {
		fmt.Fprintf(tw, "%s\t%v\t%s ago\n", n.ID, n.Leader, secs(n.HeartbeatAgeSecs))
	}
	fmt.Fprintln(tw, "\nCLIENT\tLAG\tLAST SYNC\tLAST JOB\tOPEN CONFLICTS")
	for _, c := range st.Clients {
		lag, last := "-", "never"
		if c.LagSeconds != nil {
			lag = secs(*c.LagSeconds)
		}
		if c.LastSync != nil {
			last = c.LastSync.UTC().Format(time.RFC3339)
		}
		job := c.LastJob
		if c.LastError != "" {
			job += ": " + c.LastError
		}
		if job == "" {
			job = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", c.Name, lag, last, job, c.OpenConflicts)
	}
	tw.Flush()
	if c := st.Canary; c != nil {
		fmt.Fprintf(env.stdout, "\nCertification canary (fleetctl certify's drills, not a client): last job %s, %d open conflicts\n",
			strings.TrimSuffix(c.LastJob+": "+c.LastError, ": "), c.OpenConflicts)
	}
	return exitOK
}

func secs(s float64) string {
	return (time.Duration(s*1000) * time.Millisecond).Round(100 * time.Millisecond).String()
}

// reachLine is the preflight in one line: "Target HOST:PORT: IPv4 A (reachable), IPv6 none".
func reachLine(r replicate.Reachability) string {
	if r.Error != "" {
		return "Target: " + r.Error
	}
	fam := func(name string, ips []string, ok bool) string {
		if len(ips) == 0 {
			return name + " none"
		}
		state := "unreachable"
		if ok {
			state = "reachable"
		}
		return name + " " + strings.Join(ips, " ") + " (" + state + ")"
	}
	return "Target " + net.JoinHostPort(r.Host, r.Port) + ": " + fam("IPv4", r.IPv4, r.IPv4Reachable) + ", " + fam("IPv6", r.IPv6, r.IPv6Reachable)
}
