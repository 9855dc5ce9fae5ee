package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/quantabase/fleetctl/pkg/fleet"
)

func validateCmd(env *cliEnv) *cobra.Command {
	var file string
	var asJSON bool
	c := &cobra.Command{
		Use:   "validate [FILE]",
		Short: "check fleet.yaml and report every error",
		Long: "Check fleet.yaml (FILE, or -f; default ./fleet.yaml) and report every problem at once as\n" +
			"FILE:LINE:COL: field: message. Needs neither Docker nor secrets.",
		Args: maxArgs(1, "the fleet.yaml to check"),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return []string{"yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt
		},
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 1 {
				if c.Flags().Changed("file") && file != args[0] {
					return usageErrorf("two files to validate: %q and -f %q; give one", args[0], file)
				}
				file = args[0]
			}
			return status(runValidate(env, file, asJSON))
		},
	}
	fileFlag(c, &file)
	jsonFlag(c, &asJSON)
	return c
}

func runValidate(env *cliEnv, file string, asJSON bool) int {
	spec, ok := loadSpec(env, file, asJSON)
	if !ok {
		return exitError
	}
	if asJSON {
		warnings := spec.Warnings
		if warnings == nil {
			warnings = fleet.Diagnostics{}
		}
		return writeJSON(env, map[string]any{"valid": true, "fleet": spec.Fleet, "clients": len(spec.Clients), "errors": []any{}, "warnings": warnings})
	}
	fmt.Fprintf(env.stdout, "%s is valid: fleet %q, %d client(s)%s.\n", file, spec.Fleet, len(spec.Clients), warningCount(len(spec.Warnings)))
	return exitOK
}

func warningCount(n int) string {
	switch n {
	case 0:
		return ""
	case 1:
		return ", 1 warning"
	}
	return fmt.Sprintf(", %d warnings", n)
}
