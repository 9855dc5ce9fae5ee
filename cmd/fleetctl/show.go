package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func showCmd(env *cliEnv) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "show PLAN_FILE",
		Short: "print a saved plan (from 'fleetctl plan --out') for a reviewer",
		Long: "Print a plan saved by 'fleetctl plan --out FILE' as 'fleetctl plan' printed it (--json: the\n" +
			"plan's JSON form). A plan file holds no secret value (they print as (sensitive)), so it may\n" +
			"be kept as a CI artifact. Needs neither Docker, nor fleet.yaml, nor secrets.",
		Args: oneArg("a saved plan file (fleetctl plan --out FILE)"),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return []string{"json"}, cobra.ShellCompDirectiveFilterFileExt
		},
		RunE: func(c *cobra.Command, args []string) error {
			return status(runShow(env, args[0], asJSON))
		},
	}
	jsonFlag(c, &asJSON)
	return c
}

func runShow(env *cliEnv, path string, asJSON bool) int {
	p, err := readPlan(path)
	if err != nil {
		fmt.Fprintf(env.stderr, "Error: %v\n", err)
		return exitError
	}
	if asJSON {
		if err := p.WriteJSON(env.stdout); err != nil {
			fmt.Fprintf(env.stderr, "Error: %v\n", err)
			return exitError
		}
		return exitOK
	}
	if err := p.WriteText(env.stdout); err != nil {
		fmt.Fprintf(env.stderr, "Error: %v\n", err)
		return exitError
	}
	return exitOK
}
