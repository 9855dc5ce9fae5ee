package apply

import (
	"context"
	"errors"
	"maps"

	"github.com/quantabase/fleetctl/pkg/plan"
	"github.com/quantabase/fleetctl/pkg/resource"
)

// Monitoring writes the monitoring deploy's rendered files and reloads its
// Prometheus; the CLI wires pkg/rendered and pkg/promapi behind it. The
// containers themselves go through the Engine like any other.
type Monitoring interface {
	// WriteFiles writes changes under dir atomically; pending records that
	// a reload of Prometheus is due until Reloaded is called.
	// restartGrafana likewise records that Grafana's restart is due until
	// GrafanaRestarted is called.
	WriteFiles(ctx context.Context, dir string, changes []resource.FileChange, pending, restartGrafana bool) error
	// GrafanaRestarted clears dir's record that Grafana's restart is due.
	GrafanaRestarted(dir string) error
	// ReloadPrometheus reloads the Prometheus at url, checks that the
	// reload took, and clears dir's pending record.
	ReloadPrometheus(ctx context.Context, url, dir string) error
	// DirID is the identity of the directory at path ("device:inode",
	// "" when unknown).
	DirID(path string) string
}

// container is the action's container to create; a monitoring container
// records the identity of the directories it mounts, as they are now
// (after the plan's write created them), in plan.LabelMonitoringMounts.
func (r *runner) container(a *plan.Action) resource.Container {
	c := *a.Container
	if c.Labels[plan.LabelMonitoring] == "" || r.opt.Monitoring == nil {
		return c
	}
	if v := plan.MonitoringMountsLabel(c.Binds, r.opt.Monitoring.DirID); v != "" {
		c.Labels = maps.Clone(c.Labels)
		c.Labels[plan.LabelMonitoringMounts] = v
	}
	return c
}

func (r *runner) monitoring(ctx context.Context, a *plan.Action) error {
	if r.opt.Monitoring == nil {
		return errors.New(string(a.Kind) + ": no monitoring adapter configured")
	}
	dir, _ := a.After["dir"].(string)
	if a.Kind == plan.KindReloadPrometheus {
		url, _ := a.After["url"].(string)
		return r.opt.Monitoring.ReloadPrometheus(ctx, url, dir)
	}
	pending, _ := a.After["reload"].(bool)
	restart, _ := a.After["restartGrafana"].(bool)
	return r.opt.Monitoring.WriteFiles(ctx, dir, a.Files, pending, restart)
}

// monitoringStarted clears Grafana's restart record once an action
// started Grafana on the files (plan.GrafanaStartsOn).
func (r *runner) monitoringStarted(a *plan.Action) error {
	dir := plan.GrafanaStartsOn(a)
	if dir == "" || r.opt.Monitoring == nil {
		return nil
	}
	return r.opt.Monitoring.GrafanaRestarted(dir)
}
