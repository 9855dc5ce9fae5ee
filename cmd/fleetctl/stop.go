package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/plan"
)

func stopCmd(env *cliEnv) *cobra.Command {
	var f opsFlags
	c := &cobra.Command{
		Use:   "stop CLIENT...|--all",
		Short: "set state: stopped in fleet.yaml and apply it",
		Long: "Set the clients' state: stopped in fleet.yaml (keeping its comments and layout, printing the\n" +
			"diff), then plan and apply those clients under the fleet's lock. The container is stopped, not\n" +
			"removed; watch keeps it stopped because fleet.yaml says so. 'fleetctl start' undoes it.",
		RunE: func(c *cobra.Command, args []string) error {
			return status(runSetState(c.Context(), env, &f, args, fleet.StateStopped))
		},
	}
	f.register(c, true)
	return c
}

// runSetState writes state: STATE for each client and applies them.
func runSetState(ctx context.Context, env *cliEnv, f *opsFlags, args []string, state fleet.State) int {
	spec, ok := loadSpec(env, f.file, f.asJSON)
	if !ok {
		return exitError
	}
	names, ok := clientArgs(env, spec, args, f.all)
	if !ok {
		return exitError
	}
	_, err := editFleetFile(env, f.file, func(data []byte) ([]byte, error) {
		for _, n := range names {
			var err error
			if data, err = fleet.SetClientField(data, f.file, n, "state", string(state), ""); err != nil {
				return nil, err
			}
		}
		return data, nil
	})
	if err != nil {
		fmt.Fprintf(env.stderr, "Error: %v\n", err)
		return exitError
	}
	return applyClients(ctx, env, f, plan.Options{Targets: names}, nil)
}
