package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/quantabase/fleetctl/pkg/backup"
)

func backupCmd(env *cliEnv) *cobra.Command {
	var file string
	var all, asJSON bool
	c := &cobra.Command{
		Use:   "backup [CLIENT...|--all]",
		Short: "verified backups of clients' volumes and databases while they serve (see backups: in fleet.yaml)",
		Long: "Back up each client: its whole data volume and a consistent copy of webui.db taken while\n" +
			"the client keeps serving (SQLite VACUUM INTO inside fleetctl's helper container, then\n" +
			"PRAGMA integrity_check), with a manifest of sizes and SHA-256s. The archive is stored at\n" +
			"the destination of backups: in fleet.yaml (a local directory, default backups/ beside\n" +
			"fleet.yaml, or a restic repository), read back and verified; only then are older backups\n" +
			"pruned by backups.keep. Exit 1 when any client's backup failed.",
		RunE: func(c *cobra.Command, args []string) error {
			if all == (len(args) > 0) {
				return usageErrorf("name the clients to back up, or --all")
			}
			return status(runBackup(c.Context(), env, file, args, all, asJSON))
		},
	}
	fileFlag(c, &file)
	jsonFlag(c, &asJSON)
	c.Flags().BoolVar(&all, "all", false, "back up every client of fleet.yaml")
	c.AddCommand(backupListCmd(env))
	return c
}

func runBackup(ctx context.Context, env *cliEnv, file string, clients []string, all, asJSON bool) int {
	s, ok := openSession(ctx, env, file, asJSON)
	if !ok {
		return exitError
	}
	defer s.close()
	s.cli.SetVersion(version)
	if all {
		for _, c := range s.spec.Clients {
			clients = append(clients, c.Name)
		}
	}
	for _, name := range clients {
		if s.spec.Client(name) == nil {
			fmt.Fprintf(env.stderr, "Error: no client %q in %s\n", name, s.spec.Path)
			return exitError
		}
	}
	dest := backup.NewDestination(s.spec, s.secrets)
	code := exitOK
	var results []*backup.Result
	for _, name := range clients {
		res, err := backup.Backup(ctx, s.cli, s.spec, s.secrets, dest, name, backup.Options{Version: version, Progress: backupProgress(env)})
		if err != nil {
			fmt.Fprintf(env.stderr, "Error: %v\n", s.secrets.Masker().Error(err))
			code = exitError
			if res == nil {
				continue
			}
		}
		results = append(results, res)
		if !asJSON {
			fmt.Fprintf(env.stdout, "%s: backup %s verified: %d files, %s in %s (%s)\n", name, res.Entry.ID,
				len(res.Manifest.Files), humanBytes(res.Manifest.TotalBytes), res.Duration.Round(10*time.Millisecond), dest)
			for _, p := range res.Pruned {
				fmt.Fprintf(env.stdout, "%s: pruned %s (backups.keep)\n", name, p.ID)
			}
		}
	}
	if asJSON {
		if c := writeJSON(env, map[string]any{"destination": dest.String(), "backups": results}); c != exitOK {
			return c
		}
	}
	return code
}

func backupListCmd(env *cliEnv) *cobra.Command {
	var file string
	var asJSON bool
	c := &cobra.Command{
		Use:   "list [CLIENT]",
		Short: "list the verified backups at the destination, oldest first",
		Args:  maxArgs(1, "CLIENT"),
		RunE: func(c *cobra.Command, args []string) error {
			client := ""
			if len(args) == 1 {
				client = args[0]
			}
			return status(runBackupList(c.Context(), env, file, client, asJSON))
		},
	}
	fileFlag(c, &file)
	jsonFlag(c, &asJSON)
	return c
}

func runBackupList(ctx context.Context, env *cliEnv, file, client string, asJSON bool) int {
	spec, ok := loadSpec(env, file, asJSON)
	if !ok {
		return exitError
	}
	secrets, ok := resolveSecrets(env, spec)
	if !ok {
		return exitError
	}
	dest := backup.NewDestination(spec, secrets)
	es, err := dest.List(ctx, client)
	if err != nil {
		fmt.Fprintf(env.stderr, "Error: %v\n", secrets.Masker().Error(err))
		return exitError
	}
	if asJSON {
		if es == nil {
			es = []backup.Entry{}
		}
		return writeJSON(env, map[string]any{"destination": dest.String(), "backups": es})
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT\tBACKUP\tTIME\tSIZE\tLOCATION")
	for _, e := range es {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.Client, e.ID, e.Time.UTC().Format(time.RFC3339), humanBytes(e.Bytes), e.Location)
	}
	return boolCode(tw.Flush() == nil)
}

func boolCode(ok bool) int {
	if ok {
		return exitOK
	}
	return exitError
}

// backupProgress shows bytes and rate on a terminal (one line rewritten in
// place); elsewhere (logs) only one quiet line per finished phase.
func backupProgress(env *cliEnv) func(backup.Progress) {
	tty := isTerminal(env.stderr)
	return func(p backup.Progress) {
		rate := float64(p.Bytes) / max(p.Elapsed.Seconds(), 1e-3)
		line := fmt.Sprintf("%s: %s %s, %s/s", p.Client, p.Phase, humanBytes(p.Bytes), humanBytes(int64(rate)))
		switch {
		case tty && p.Done:
			fmt.Fprintf(env.stderr, "\r\033[K%s, done in %s\n", line, p.Elapsed.Round(10*time.Millisecond))
		case tty:
			fmt.Fprintf(env.stderr, "\r\033[K%s", line)
		case p.Done:
			fmt.Fprintf(env.stderr, "%s in %s\n", line, p.Elapsed.Round(10*time.Millisecond))
		}
	}
}

func humanBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}
