package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/quantabase/fleetctl/pkg/docker"
	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/health"
	"github.com/quantabase/fleetctl/pkg/observe"
	"github.com/quantabase/fleetctl/pkg/plan"
)

// statusRow is one client in `fleetctl status`.
type statusRow struct {
	Client    string `json:"client"`
	Container string `json:"container"`
	State     string `json:"state"`
	Health    string `json:"health"`
	Port      int    `json:"port"`
	Domain    string `json:"domain"`
	Image     string `json:"image"`
	Database  string `json:"database"`
	Drift     string `json:"drift"`
}

func statusCmd(env *cliEnv) *cobra.Command {
	var file string
	var asJSON bool
	c := &cobra.Command{
		Use:   "status",
		Short: "one row per client: state, health, drift",
		Args:  noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return status(runStatus(c.Context(), env, file, asJSON))
		},
	}
	fileFlag(c, &file)
	jsonFlag(c, &asJSON)
	return c
}

func runStatus(ctx context.Context, env *cliEnv, file string, asJSON bool) int {
	s, ok := openSession(ctx, env, file, asJSON)
	if !ok {
		return exitError
	}
	defer s.close()
	p, st, ok := s.plan(ctx, env, plan.Options{})
	if !ok {
		return exitError
	}
	rows := statusRows(ctx, s.spec, st, p, s.cli)
	if asJSON {
		return writeJSON(env, map[string]any{"fleet": s.spec.Fleet, "clients": rows, "orphans": p.Orphans})
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT\tSTATE\tHEALTH\tPORT\tDOMAIN\tIMAGE\tDB\tDRIFT")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", r.Client, r.State, r.Health, r.Port, dash(r.Domain), r.Image, r.Database, r.Drift)
	}
	tw.Flush()
	for _, o := range p.Orphans {
		fmt.Fprintf(env.stdout, "orphan: %s (client %s, not in fleet.yaml)\n", o.Container, o.Client)
	}
	return exitOK
}

func statusRows(ctx context.Context, spec *fleet.Spec, st *observe.State, p *plan.Plan, cli *docker.Client) []statusRow {
	byName := map[string]*observe.Container{}
	for i := range st.Containers {
		byName[st.Containers[i].Name] = &st.Containers[i]
	}
	rows := make([]statusRow, len(spec.Clients))
	var wg sync.WaitGroup
	for i := range spec.Clients {
		c := &spec.Clients[i]
		name := spec.ContainerName(c)
		r := statusRow{Client: c.Name, Container: name, State: "absent", Health: "-", Port: c.Port,
			Domain: c.Domain, Image: c.Image, Database: string(c.Database.Backend), Drift: drift(p, c.Name)}
		ctr := byName[name]
		if ctr != nil {
			r.State, r.Image = ctr.State, ctr.Image
		}
		rows[i] = r // before the probe below writes its Health
		if ctr != nil && ctr.Running() {
			wg.Add(1)
			go func(i int, bind string) {
				defer wg.Done()
				rows[i].Health = probeHealth(ctx, cli.ProbeHost(), bind, c.Port, c.HealthCheck.Path)
			}(i, c.BindAddress)
		}
	}
	wg.Wait()
	return rows
}

// drift summarises what the plan would do to a client ("none" when nothing).
func drift(p *plan.Plan, client string) string {
	for _, c := range p.Conflicts {
		if c.Client == client {
			return "conflict: " + c.Message
		}
	}
	if a := p.Action("container." + client); a != nil {
		return string(a.Kind) + ": " + strings.Join(a.Causes, "; ")
	}
	if a := p.Action("volume." + client); a != nil {
		return "volume missing"
	}
	if d := siteDrift(p, client); d != "" { // sites.go
		return d
	}
	return "none"
}

func probeHealth(ctx context.Context, probeHost, bind string, port int, path string) string {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	r := health.Prober{HTTP: http.DefaultClient, Host: probeHost}.Probe(ctx, bind, port, path)
	if r.OK {
		return "healthy"
	}
	return "unhealthy (" + r.Path + ": " + r.Detail + ")"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
