package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/quantabase/fleetctl/pkg/docker"
)

func unlockCmd(env *cliEnv) *cobra.Command {
	var file string
	var force countFlag
	c := &cobra.Command{
		Use:   "unlock",
		Short: "show who holds the fleet's lock and whether it is alive; remove a lock left by a crashed fleetctl",
		Long: "Show the holder of the fleet's lock and whether its process is alive (checked only when it ran\n" +
			"on this machine). --force removes the lock; against a holder alive on this machine it is\n" +
			"refused unless given twice (--force --force): two writers would interleave.",
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return status(runUnlock(c.Context(), env, file, int(force)))
		},
	}
	fileFlag(c, &file)
	repeatableSwitch(c, &force, "force", "remove the lock; give it twice to remove the lock of a holder alive on this machine")
	return c
}

func runUnlock(ctx context.Context, env *cliEnv, file string, force int) int {
	spec, ok := loadSpec(env, file, false)
	if !ok {
		return exitError
	}
	cli, ok := connectLockHost(ctx, env, spec) // hosts.go
	if !ok {
		return exitError
	}
	defer cli.Close()
	info, held, err := cli.LockHolder(ctx, spec.Fleet)
	if err != nil {
		fmt.Fprintf(env.stderr, "Error: %v\n", err)
		return exitError
	}
	if !held {
		fmt.Fprintf(env.stdout, "Fleet %q is not locked.\n", spec.Fleet)
		return exitOK
	}
	live := info.Liveness()
	switch {
	case force == 0:
		fmt.Fprintf(env.stderr, "Fleet %q is locked by %s.\nThe holder is %s.\n", spec.Fleet, info, live)
		switch live {
		case docker.HolderAlive:
			fmt.Fprintln(env.stderr, "It is still running: let it finish, or stop it (Ctrl-C lets an apply finish or roll back what is under way).")
		case docker.HolderGone:
			fmt.Fprintln(env.stderr, "The next apply takes this lock over; 'fleetctl unlock --force' removes it now.")
		default:
			fmt.Fprintln(env.stderr, "If that process is gone, run 'fleetctl unlock --force'; removing the lock of a live apply lets two writers interleave.")
		}
		return exitError
	case live == docker.HolderAlive && force < 2:
		fmt.Fprintf(env.stderr, "Error: fleet %q is locked by %s, and that process is alive on this machine (pid %d): "+
			"removing its lock lets two writers interleave. Stop it instead, or give --force twice (--force --force) to remove the lock anyway.\n",
			spec.Fleet, info, info.PID)
		return exitError
	}
	if err := cli.RemoveLock(ctx, info); err != nil {
		fmt.Fprintf(env.stderr, "Error: %v\n", err)
		return exitError
	}
	fmt.Fprintf(env.stdout, "Removed the lock of fleet %q (held by %s; the holder is %s).\n", spec.Fleet, info, live)
	return exitOK
}
