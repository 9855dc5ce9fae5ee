// Package status builds the one-row-per-client view that `fleetctl status`
// prints and the watch daemon serves, from a snapshot (with its probes and
// inspect results) and, when there is one, the plan made from it. It is
// pure: it makes no calls, so both show the same words for the same truth.
package status

import (
	"strings"

	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/observe"
	"github.com/quantabase/fleetctl/pkg/plan"
)

// Row is one client.
type Row struct {
	Client    string `json:"client"`
	Container string `json:"container"`
	// State is the container's state in words: running, absent, blocked,
	// exited, "crash-looping (5 restarts)", "exited (code 3)".
	State string `json:"state"`
	// Health is "healthy", "unhealthy (DETAIL)" or "-" (not probed).
	Health string `json:"health"`
	// Gate is the endpoint the client is gated on: /ready, /health (the
	// image answered 404 on /ready) or the configured path; "-" when unknown.
	Gate     string `json:"gate"`
	Restarts int    `json:"restarts"`
	// Down is true when the client should run and is not up.
	Down     bool   `json:"down"`
	Port     int    `json:"port"`
	Domain   string `json:"domain"`
	Image    string `json:"image"`
	Database string `json:"database"`
	// Drift is what the plan would do ("none"; "-" when no plan was made).
	Drift string `json:"drift"`
}

// Rows describes every client of spec as st shows it; p (may be nil) adds
// each client's drift.
func Rows(spec *fleet.Spec, st *observe.State, p *plan.Plan) []Row {
	byName := make(map[string]*observe.Container, len(st.Containers))
	for i := range st.Containers {
		byName[st.Containers[i].Name] = &st.Containers[i]
	}
	rows := make([]Row, len(spec.Clients))
	for i := range spec.Clients {
		c := &spec.Clients[i]
		r := Row{Client: c.Name, Container: spec.ContainerName(c), State: "absent", Health: "-", Gate: "-",
			Port: c.Port, Domain: c.Domain, Image: c.Image, Database: backendOf(c), Drift: "-"}
		if p != nil {
			r.Drift = Drift(p, c.Name)
		}
		ctr := byName[r.Container]
		switch {
		case ctr == nil:
		case !observe.Managed(ctr.Labels, spec.Fleet) || ctr.Labels[observe.LabelClient] != c.Name:
			r.State = "blocked" // the name is held by a container that is not this client's
		default:
			r.State, r.Image = ctr.State, ctr.Image
			if ctr.Runtime != nil {
				r.Restarts = ctr.Runtime.RestartCount
			}
			if pr := ctr.Probe; pr != nil {
				r.Gate = pr.Path
				r.Health = "healthy"
				if !pr.OK {
					r.Health = "unhealthy (" + pr.Detail + ")"
				}
			}
			if d := plan.DownOf(ctr); d != nil && c.State != fleet.StateStopped {
				r.Down = true
				if d.Status != plan.DownUnhealthy {
					r.State = d.Message
				}
				if r.Health == "-" {
					r.Health = "unhealthy (not running)"
				}
				if r.Drift == "none" {
					r.Drift = "none in config, but the client is down: not converged"
				}
			}
		}
		rows[i] = r
	}
	return rows
}

// Drift summarises what the plan would do to a client ("none" when nothing).
func Drift(p *plan.Plan, client string) string {
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
	if a := p.Action(plan.SitesActionID); a != nil {
		for _, ch := range a.Sites {
			if ch.Client == client {
				return "site " + ch.File + " " + string(ch.Op) + ": " + strings.Join(ch.Causes, "; ")
			}
		}
	}
	for _, h := range p.Held {
		if h.Client == client {
			return "held: " + string(h.Kind)
		}
	}
	return "none"
}

func backendOf(c *fleet.Client) string {
	if c.Database == nil || c.Database.Backend == "" {
		return string(fleet.BackendSQLite)
	}
	return string(c.Database.Backend)
}
