package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

// listRow is one client in `fleetctl list`: what fleet.yaml wants beside
// what the engine has.
type listRow struct {
	Client    string `json:"client"`
	Desired   string `json:"desired"`
	State     string `json:"state"`
	Port      int    `json:"port"`
	Domain    string `json:"domain,omitempty"`
	Image     string `json:"image"`
	Running   string `json:"runningImage,omitempty"`
	Container string `json:"container"`
}

func listCmd(env *cliEnv) *cobra.Command {
	var file string
	var asJSON bool
	c := &cobra.Command{
		Use:   "list",
		Short: "the clients of fleet.yaml with their observed state",
		Long: "List the clients of fleet.yaml: desired state, the container's observed state (absent when\n" +
			"there is none), port, domain, the image fleet.yaml names and the one the container runs.\n" +
			"Needs no secrets; 'fleetctl status' adds health and drift.",
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return status(runList(c.Context(), env, file, asJSON))
		},
	}
	fileFlag(c, &file)
	jsonFlag(c, &asJSON)
	return c
}

func runList(ctx context.Context, env *cliEnv, file string, asJSON bool) int {
	spec, ok := loadSpec(env, file, asJSON)
	if !ok {
		return exitError
	}
	st, ok := observeOnly(ctx, env, spec)
	if !ok {
		return exitError
	}
	rows := make([]listRow, 0, len(spec.Clients))
	for i := range spec.Clients {
		c := &spec.Clients[i]
		r := listRow{Client: c.Name, Desired: string(c.State), State: "absent", Port: c.Port, Domain: c.Domain,
			Image: c.Image, Container: spec.ContainerName(c)}
		if ctr := findContainer(st, r.Container); ctr != nil {
			r.State, r.Running = ctr.State, ctr.Image
		}
		rows = append(rows, r)
	}
	if asJSON {
		return writeJSON(env, map[string]any{"fleet": spec.Fleet, "clients": rows})
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT\tDESIRED\tSTATE\tPORT\tDOMAIN\tIMAGE\tRUNNING IMAGE")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", r.Client, r.Desired, r.State, r.Port, dash(r.Domain), r.Image, dash(r.Running))
	}
	return flushed(env, tw.Flush())
}

func flushed(env *cliEnv, err error) int {
	if err != nil {
		fmt.Fprintf(env.stderr, "Error: %v\n", err)
		return exitError
	}
	return exitOK
}
