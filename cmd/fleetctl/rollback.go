package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/plan"
)

func rollbackCmd(env *cliEnv) *cobra.Command {
	var f opsFlags
	c := &cobra.Command{
		Use:   "rollback CLIENT...",
		Short: "pin clients to the image their container replaced, and apply",
		Long: "Each client container records the image it replaced. rollback sets the client's image: in\n" +
			"fleet.yaml to that reference (keeping comments and layout, printing the diff), then plans and\n" +
			"applies those clients under the fleet's lock: the same stop-first, health-gated replacement as\n" +
			"any image change. Remove the pin from fleet.yaml to follow the default image again.",
		RunE: func(c *cobra.Command, args []string) error {
			return status(runRollback(c.Context(), env, &f, args))
		},
	}
	f.register(c, false)
	return c
}

func runRollback(ctx context.Context, env *cliEnv, f *opsFlags, args []string) int {
	spec, ok := loadSpec(env, f.file, f.asJSON)
	if !ok {
		return exitError
	}
	names, ok := clientArgs(env, spec, args, false)
	if !ok {
		return exitError
	}
	st, ok := observeOnly(ctx, env, spec)
	if !ok {
		return exitError
	}
	images := map[string]string{}
	for _, n := range names {
		ctr := findContainer(st, spec.ContainerName(spec.Client(n)))
		if ctr == nil {
			fmt.Fprintf(env.stderr, "Error: client %s has no container to roll back\n", n)
			return exitError
		}
		ref, err := plan.RollbackImage(ctr, st.Images)
		if err != nil {
			fmt.Fprintf(env.stderr, "Error: client %s: %v\n", n, err)
			return exitError
		}
		images[n] = ref
	}
	_, err := editFleetFile(env, f.file, func(data []byte) ([]byte, error) {
		for _, n := range names {
			var err error
			if data, err = fleet.SetClientField(data, f.file, n, "image", images[n], "pinned by fleetctl rollback"); err != nil {
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
