package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/quantabase/fleetctl/pkg/backup"
)

func restoreCmd(env *cliEnv) *cobra.Command {
	var file, as string
	var auto, asJSON bool
	var lockWait time.Duration
	c := &cobra.Command{
		Use:   "restore CLIENT BACKUP",
		Short: "restore a verified backup into a new volume and swap the client onto it once healthy (--as: clone)",
		Long: "Restore BACKUP (an ID from 'fleetctl backup list', a restic snapshot ID, or 'latest') of\n" +
			"CLIENT. The backup is verified first (every SHA-256, PRAGMA integrity_check; a corrupt\n" +
			"archive or a wrong restic password changes nothing), the steps are shown, then the backup is\n" +
			"extracted into a NEW volume, clients[CLIENT].volume in fleet.yaml is set to it, and the\n" +
			"client is recreated on it (stop first, health-gated) under the fleet lock. If the restored\n" +
			"client does not come up healthy, the previous container and volume come back and fleet.yaml\n" +
			"is put back. The previous volume is kept.\n\n" +
			"--as NEWCLIENT clones the backup into a new volume for a new client and prints the entry to\n" +
			"add to fleet.yaml; nothing running changes.",
		Args: exactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			return status(runRestore(c.Context(), env, file, args[0], args[1], as, auto, asJSON, lockWait))
		},
	}
	fileFlag(c, &file)
	jsonFlag(c, &asJSON)
	c.Flags().StringVar(&as, "as", "", "clone into a new client `NAME` instead of restoring CLIENT")
	c.Flags().BoolVar(&auto, "auto-approve", false, "restore without asking for confirmation")
	c.Flags().DurationVar(&lockWait, "lock-timeout", 0, "wait up to `DURATION` for another holder of the fleet lock")
	return c
}

func runRestore(ctx context.Context, env *cliEnv, file, client, ref, as string, auto, asJSON bool, lockWait time.Duration) int {
	s, ok := openSession(ctx, env, file, asJSON)
	if !ok {
		return exitError
	}
	defer s.close()
	s.cli.SetVersion(version)
	out := env.stdout
	if asJSON {
		out = env.stderr
	}
	dest := backup.NewDestination(s.spec, s.secrets)
	res, err := backup.Restore(ctx, s.cli, s.spec, s.secrets, dest, client, ref, backup.RestoreOptions{
		As: as, LockWait: lockWait, Progress: backupProgress(env),
		Confirm: func(steps []string) error {
			fmt.Fprintf(out, "Backup verified. fleetctl restore will:\n")
			for _, st := range steps {
				fmt.Fprintf(out, "  %s\n", st)
			}
			if auto || confirm(ctx, env, out) {
				return nil
			}
			return backup.ErrAborted
		},
	})
	if errors.Is(err, backup.ErrAborted) {
		fmt.Fprintln(env.stderr, "Restore cancelled; nothing was changed.")
		return exitError
	}
	if err != nil {
		fmt.Fprintf(env.stderr, "Error: %v\n", s.secrets.Masker().Error(err))
		return exitError
	}
	if asJSON {
		return writeJSON(env, res)
	}
	if as != "" {
		fmt.Fprintf(out, "Restored %s into volume %s. Add this client to %s, then apply:\n\n%s", res.Backup.ID, res.Volume, s.spec.Path, res.ClientEntry)
		return exitOK
	}
	fmt.Fprint(out, res.Diff)
	fmt.Fprintf(out, "%s restored from %s: running on volume %s (previous data kept in %s).\n", client, res.Backup.ID, res.Volume, res.PreviousVolume)
	return exitOK
}
