package main

import (
	"context"
	"fmt"

	"github.com/quantabase/fleetctl/pkg/fleet"
)

func runValidate(_ context.Context, env *cliEnv, args []string) int {
	fs := newFlags("validate", env)
	file := fs.String("f", "fleet.yaml", "path to fleet.yaml")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if fs.Parse(args) != nil {
		return exitError
	}
	spec, ok := loadSpec(env, *file, *asJSON)
	if !ok {
		return exitError
	}
	if *asJSON {
		warnings := spec.Warnings
		if warnings == nil {
			warnings = fleet.Diagnostics{}
		}
		return writeJSON(env, map[string]any{"valid": true, "fleet": spec.Fleet, "clients": len(spec.Clients), "errors": []any{}, "warnings": warnings})
	}
	fmt.Fprintf(env.stdout, "%s is valid: fleet %q, %d client(s)%s.\n", *file, spec.Fleet, len(spec.Clients), warningCount(len(spec.Warnings)))
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
