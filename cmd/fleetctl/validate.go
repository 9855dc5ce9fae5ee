package main

import (
	"context"
	"fmt"
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
		return writeJSON(env, map[string]any{"valid": true, "fleet": spec.Fleet, "clients": len(spec.Clients), "errors": []any{}})
	}
	fmt.Fprintf(env.stdout, "%s is valid: fleet %q, %d client(s).\n", *file, spec.Fleet, len(spec.Clients))
	return exitOK
}
