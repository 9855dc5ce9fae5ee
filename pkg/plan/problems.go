package plan

import (
	"fmt"
	"strings"

	"github.com/quantabase/fleetctl/pkg/observe"
)

// Down is a client that should run and is not up: its container is
// restarting, has crashed, or fails its readiness probe. A plan with a Down
// client is not converged, even with no action: apply does not recreate a
// container that matches its spec again and again, it reports it and fails.
type Down struct {
	Client string `json:"client"`
	// Service is "prometheus" or "grafana" for the monitoring deploy's
	// containers (Client is then "").
	Service   string `json:"service,omitempty"`
	Container string `json:"container"`
	// Status is crash-looping, restarting, exited or unhealthy.
	Status string `json:"status"`
	// Message is what status shows: "crash-looping (5 restarts)".
	Message  string `json:"message"`
	Restarts int    `json:"restarts"`
	ExitCode int    `json:"exitCode"`
	// Probe is the readiness answer ("/ready: HTTP 503") when it was asked.
	Probe string `json:"probe,omitempty"`
	// Logs are the container's last log lines, masked.
	Logs []string `json:"logs,omitempty"`
	// Action is the id of the plan's action for the client ("" when none).
	Action string `json:"action,omitempty"`
}

// Downs: the statuses of Down.
const (
	DownCrashLooping = "crash-looping"
	DownRestarting   = "restarting"
	DownExited       = "exited"
	DownUnhealthy    = "unhealthy"
)

// Converged reports whether the fleet matches fleet.yaml: nothing to do, no
// conflict, and every client (and monitoring container) that should run is up.
func (p *Plan) Converged() bool {
	return p.Empty() && len(p.Conflicts) == 0 && len(p.Down) == 0
}

// DownOf describes ctr when it is down, from what inspect and the probe
// told (nil when it is up, or nothing says otherwise). A container that was
// stopped cleanly (exit code 0) is not down, only stopped: the plan starts it.
func DownOf(ctr *observe.Container) *Down {
	rt, pr := ctr.Runtime, ctr.Probe
	d := &Down{Container: ctr.Name}
	if rt != nil {
		d.Restarts, d.ExitCode = rt.RestartCount, rt.ExitCode
	}
	restartingNow := ctr.State == "restarting" || (rt != nil && rt.Restarting)
	probeBad := pr != nil && !pr.OK
	switch {
	// Restarted by the engine and not up now (restarting, exited, failing
	// its probe, or not running when the list was read): a crash loop. One
	// restart long ago on a container that now answers is not.
	case rt != nil && rt.RestartCount > 0 && (restartingNow || !rt.Running || probeBad || pr == nil):
		d.Status, d.Message = DownCrashLooping, fmt.Sprintf("crash-looping (%d restarts)", rt.RestartCount)
		if probeBad {
			d.Probe = pr.Path + ": " + pr.Detail
		}
	case restartingNow:
		d.Status, d.Message = DownRestarting, "restarting"
	case rt != nil && !rt.Running && rt.Status != "created" && rt.ExitCode != 0:
		d.Status, d.Message = DownExited, fmt.Sprintf("exited (code %d)", rt.ExitCode)
	case probeBad:
		d.Status, d.Message = DownUnhealthy, "unhealthy ("+pr.Path+": "+pr.Detail+")"
		d.Probe = pr.Path + ": " + pr.Detail
	case rt != nil && rt.Health == "unhealthy":
		d.Status, d.Message = DownUnhealthy, "unhealthy (the image's HEALTHCHECK)"
	default:
		return nil
	}
	if rt != nil {
		d.Logs = rt.Logs
	}
	return d
}

// down records the client's container when it should run and is down.
// values are the sensitive values the client's container holds: log lines
// are masked with them on top of the adapter's masking.
func (b *builder) down(client string, primary *observe.Container, act *Action, values []string) {
	d := DownOf(primary)
	if d == nil {
		return
	}
	d.Client = client
	if act != nil {
		d.Action = act.ID
	}
	for i, l := range d.Logs {
		for _, v := range values {
			if v != "" {
				l = strings.ReplaceAll(l, v, Masked)
			}
		}
		d.Logs[i] = l
	}
	b.plan.Down = append(b.plan.Down, *d)
}

// Who names the down container's owner: "client c0", "prometheus".
func (d *Down) Who() string {
	if d.Service != "" {
		return d.Service
	}
	return "client " + d.Client
}

// monDown records the monitoring container of role when it is down (as
// down does for a client); the Grafana password is masked in its logs.
func (b *builder) monDown(role string, ctr *observe.Container, act *Action) {
	d := DownOf(ctr)
	if d == nil {
		return
	}
	d.Service = role
	if act != nil {
		d.Action = act.ID
	}
	pw := b.secrets.Value(b.spec.Monitoring.Grafana.AdminPassword)
	for i, l := range d.Logs {
		if pw != "" {
			d.Logs[i] = strings.ReplaceAll(l, pw, Masked)
		}
	}
	b.plan.Down = append(b.plan.Down, *d)
}
