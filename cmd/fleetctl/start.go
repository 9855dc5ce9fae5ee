package main

import (
	"github.com/spf13/cobra"

	"github.com/quantabase/fleetctl/pkg/fleet"
)

func startCmd(env *cliEnv) *cobra.Command {
	var f opsFlags
	c := &cobra.Command{
		Use:   "start CLIENT...|--all",
		Short: "set state: running in fleet.yaml and apply it",
		Long: "Set the clients' state: running in fleet.yaml (keeping its comments and layout, printing the\n" +
			"diff), then plan and apply those clients under the fleet's lock: each is started (or created)\n" +
			"and health-gated.",
		RunE: func(c *cobra.Command, args []string) error {
			return status(runSetState(c.Context(), env, &f, args, fleet.StateRunning))
		},
	}
	f.register(c, true)
	return c
}
