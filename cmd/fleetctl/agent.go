package main

import (
	"bufio"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/quantabase/fleetctl/pkg/backup/archive"
)

// agentCmd holds the hidden verbs fleetctl's helper container runs next to
// a client's volume (pkg/docker EnsureSelfImage, RunHelper): the work that
// must happen where the files are, so it works against a remote engine.
func agentCmd(env *cliEnv) *cobra.Command {
	c := group(env, &cobra.Command{
		Use:    "agent",
		Short:  "verbs of fleetctl's helper container (internal)",
		Hidden: true,
	})
	c.AddCommand(
		&cobra.Command{
			Use:   "backup-sqlite SRC DST",
			Short: "consistent copy of a live SQLite database (VACUUM INTO), then PRAGMA integrity_check",
			Args:  exactArgs(2),
			RunE: func(c *cobra.Command, args []string) error {
				return archive.CopySQLite(c.Context(), args[0], args[1])
			},
		},
		&cobra.Command{
			Use:   "snapshot DIR",
			Short: "write the backup archive of data directory DIR to stdout",
			Args:  exactArgs(1),
			RunE: func(c *cobra.Command, args []string) error {
				scratch, err := os.MkdirTemp("", "snapshot")
				if err != nil {
					return err
				}
				defer os.RemoveAll(scratch)
				w := bufio.NewWriterSize(env.stdout, 1<<20)
				if err := archive.WriteSnapshot(c.Context(), args[0], scratch, w); err != nil {
					return err
				}
				return w.Flush()
			},
		},
		&cobra.Command{
			Use:   "extract DIR",
			Short: "restore the backup archive read from stdin into the empty directory DIR, verified",
			Args:  exactArgs(1),
			RunE: func(c *cobra.Command, args []string) error {
				m, err := archive.Extract(c.Context(), bufio.NewReaderSize(env.stdin, 1<<20), args[0])
				if err != nil {
					return err
				}
				fmt.Fprintf(env.stdout, "restored %d files, %d bytes\n", len(m.Files), m.TotalBytes)
				return nil
			},
		},
	)
	return c
}
