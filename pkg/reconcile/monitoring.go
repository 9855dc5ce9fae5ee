package reconcile

import (
	"context"
	"fmt"

	"github.com/quantabase/fleetctl/pkg/apply"
	"github.com/quantabase/fleetctl/pkg/docker"
	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/health"
	"github.com/quantabase/fleetctl/pkg/observe"
	"github.com/quantabase/fleetctl/pkg/plan"
	"github.com/quantabase/fleetctl/pkg/promapi"
	"github.com/quantabase/fleetctl/pkg/rendered"
	"github.com/quantabase/fleetctl/pkg/resource"
)

// deploysMonitoring reports whether plan/apply run Prometheus and Grafana.
func deploysMonitoring(spec *fleet.Spec) bool {
	return spec.Monitoring != nil && spec.Monitoring.Deploy
}

// monitoringObjects adds the monitoring deploy's volumes and images to what
// the engine is asked about.
func monitoringObjects(spec *fleet.Spec, vols, imgs []string) ([]string, []string) {
	if !deploysMonitoring(spec) {
		return vols, imgs
	}
	m := spec.Monitoring
	vols = append(vols, plan.MonitoringVolumeName(spec.Fleet, "prometheus"), plan.MonitoringVolumeName(spec.Fleet, "grafana"))
	for _, img := range []string{m.Prometheus.Image, m.Grafana.Image} {
		seen := false
		for _, i := range imgs {
			seen = seen || i == img
		}
		if !seen {
			imgs = append(imgs, img)
		}
	}
	return vols, imgs
}

// observeMonitoring reads monitoring.dir into st. A directory that cannot
// be read does not stop the clients' repairs: the plan reports it as a
// conflict of the monitoring deploy.
func observeMonitoring(ctx context.Context, spec *fleet.Spec, st *observe.State, local bool) {
	if !deploysMonitoring(spec) {
		return
	}
	if !local {
		// The containers bind-mount the directory from the engine's
		// machine: this one's files would not be there.
		st.MonitoringErr = "the engine is not on this machine, and Prometheus and Grafana mount their files from it (run plan/apply on the Docker host)"
		return
	}
	ms, err := rendered.Dir{Path: spec.MonitoringDir()}.Observe(ctx)
	if err != nil {
		st.Monitoring, st.MonitoringErr = nil, err.Error()
		return
	}
	st.Monitoring = ms
}

// monitoringBoundPorts are the monitoring ports a process other than a
// container listens on (a Prometheus installed on the host, say), checked
// while the container that would listen there does not exist yet.
func monitoringBoundPorts(spec *fleet.Spec, st *observe.State) []observe.PortBinding {
	if !deploysMonitoring(spec) {
		return nil
	}
	var out []observe.PortBinding
	for _, w := range plan.MonitoringServices(spec.Monitoring) {
		name := plan.MonitoringContainerName(spec.Fleet, w.Role)
		exists := false
		for _, c := range st.Containers {
			exists = exists || c.Name == name || c.Name == name+observe.PreviousSuffix
		}
		if !exists && health.PortHeld(w.Bind, w.Port) {
			out = append(out, observe.PortBinding{HostIP: w.Bind, HostPort: w.Port})
		}
	}
	return out
}

// MonitoringDeployer wires pkg/rendered and pkg/promapi to the executor's
// monitoring actions.
type MonitoringDeployer struct{}

var _ apply.Monitoring = MonitoringDeployer{}

// WriteFiles implements apply.Monitoring.
func (MonitoringDeployer) WriteFiles(ctx context.Context, dir string, changes []resource.FileChange, pending, restartGrafana bool) error {
	return rendered.Dir{Path: dir}.Write(ctx, changes, pending, restartGrafana)
}

// GrafanaRestarted implements apply.Monitoring.
func (MonitoringDeployer) GrafanaRestarted(dir string) error {
	return rendered.Dir{Path: dir}.GrafanaRestarted()
}

// ReloadPrometheus implements apply.Monitoring.
func (MonitoringDeployer) ReloadPrometheus(ctx context.Context, url, dir string) error {
	if err := promapi.ReloadVerified(ctx, url); err != nil {
		return err
	}
	if err := (rendered.Dir{Path: dir}).Reloaded(); err != nil {
		return fmt.Errorf("prometheus reloaded, but %w", err)
	}
	return nil
}

// lookMonitoring completes the snapshot with the truth about the fleet's
// Prometheus and Grafana, as look does for the clients: each container is
// inspected (state, restarts, exit code, last log lines) and, running, asked
// its readiness (Prometheus /-/ready, Grafana /api/health) within
// probeTimeout. The plan reports one that is down as a problem.
func lookMonitoring(ctx context.Context, cli *docker.Client, spec *fleet.Spec, st *observe.State) {
	if !deploysMonitoring(spec) {
		return
	}
	pr := health.Prober{HTTP: probeClient, Host: cli.ProbeHost(), AnyOK: true}
	var inspect []*observe.Container
	for _, w := range plan.MonitoringServices(spec.Monitoring) {
		name := plan.MonitoringContainerName(spec.Fleet, w.Role)
		for i := range st.Containers {
			ctr := &st.Containers[i]
			if ctr.Name != name || !observe.Managed(ctr.Labels, spec.Fleet) || ctr.Labels[plan.LabelMonitoring] != w.Role {
				continue
			}
			inspect = append(inspect, ctr)
			if ctr.State == "running" {
				pctx, cancel := context.WithTimeout(ctx, probeTimeout)
				res := pr.Probe(pctx, w.Bind, w.Port, w.HealthPath)
				cancel()
				ctr.Probe = &res
			}
		}
	}
	if len(inspect) > 0 {
		st.Unverified = append(st.Unverified, cli.InspectInto(ctx, inspect, false)...)
	}
}

// DirID implements apply.Monitoring.
func (MonitoringDeployer) DirID(path string) string { return rendered.DirID(path) }
