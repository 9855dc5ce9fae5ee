package main

import (
	"github.com/spf13/cobra"

	"github.com/quantabase/fleetctl/pkg/plan"
)

func restartCmd(env *cliEnv) *cobra.Command {
	var f opsFlags
	c := &cobra.Command{
		Use:   "restart CLIENT...|--all",
		Short: "restart running clients (health-gated), fleet.yaml unchanged",
		Long: "Restart each named client's running container and wait for its health check, under the\n" +
			"fleet's lock, without touching fleet.yaml. A client with pending changes is replaced instead\n" +
			"(the normal plan); a client stopped in fleet.yaml is left stopped.",
		RunE: func(c *cobra.Command, args []string) error {
			spec, ok := loadSpec(env, f.file, f.asJSON)
			if !ok {
				return status(exitError)
			}
			names, ok := clientArgs(env, spec, args, f.all)
			if !ok {
				return status(exitError)
			}
			return status(applyClients(c.Context(), env, &f, plan.Options{Targets: names, Restart: names}, nil))
		},
	}
	f.register(c, true)
	return c
}
