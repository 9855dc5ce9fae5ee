package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
)

func versionCmd(env *cliEnv) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "version",
		Short: "print the version",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			if asJSON {
				return status(writeJSON(env, map[string]string{"version": version, "go": runtime.Version()}))
			}
			fmt.Fprintf(env.stdout, "fleetctl %s (%s)\n", version, runtime.Version())
			return nil
		},
	}
	jsonFlag(c, &asJSON)
	return c
}
