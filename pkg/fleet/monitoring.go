package fleet

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"time"
)

// Monitoring configures the Prometheus configuration, alert rules and
// Grafana dashboards fleetctl renders from this file (`fleetctl monitoring
// render`), and whether plan/apply also run Prometheus and Grafana.
type Monitoring struct {
	// Deploy makes plan/apply run Prometheus and Grafana as managed containers.
	Deploy bool `yaml:"deploy,omitempty" json:"deploy,omitempty"`
	// BindAddress is where deployed Prometheus and Grafana publish their
	// ports (default 127.0.0.1: never exposed by accident).
	BindAddress string `yaml:"bindAddress,omitempty" json:"bindAddress,omitempty"`
	// Dir is where deploy writes the rendered files the containers mount,
	// the same layout as `fleetctl monitoring render --out DIR`; required
	// and absolute with deploy (otherwise default "monitoring", relative
	// to fleet.yaml's directory).
	Dir                string               `yaml:"dir,omitempty" json:"dir,omitempty"`
	ScrapeInterval     Duration             `yaml:"scrapeInterval,omitempty" json:"scrapeInterval,omitempty"`
	EvaluationInterval Duration             `yaml:"evaluationInterval,omitempty" json:"evaluationInterval,omitempty"`
	Targets            MonitoringTargets    `yaml:"targets,omitempty" json:"targets,omitempty"`
	Thresholds         MonitorThresholds    `yaml:"thresholds,omitempty" json:"thresholds,omitempty"`
	Prometheus         MonitoringPrometheus `yaml:"prometheus,omitempty" json:"prometheus,omitempty"`
	Grafana            MonitoringGrafana    `yaml:"grafana,omitempty" json:"grafana,omitempty"`
}

// MonitoringTargets are the addresses (host:port) Prometheus scrapes.
type MonitoringTargets struct {
	// Watch lists the `fleetctl watch --listen` addresses (default 127.0.0.1:9100).
	Watch []string `yaml:"watch,omitempty" json:"watch,omitempty"`
	// SyncNodes overrides the sync nodes' metrics addresses (default: the
	// nodes of the fleet's sync section).
	SyncNodes []string `yaml:"syncNodes,omitempty" json:"syncNodes,omitempty"`
}

// MonitorThresholds are the limits the alert rules fire on.
type MonitorThresholds struct {
	// ReplicationLag above which a client's sync lag alerts (default 30s).
	ReplicationLag Duration `yaml:"replicationLag,omitempty" json:"replicationLag,omitempty"`
	// LeaseMargin: a leader whose lease expires within this without being
	// renewed alerts (default 3s).
	LeaseMargin Duration `yaml:"leaseMargin,omitempty" json:"leaseMargin,omitempty"`
	// HeartbeatFailures within 5 minutes that alert (default 3).
	HeartbeatFailures int `yaml:"heartbeatFailures,omitempty" json:"heartbeatFailures,omitempty"`
	// ClientRestarts: container exits within 15 minutes that count as
	// crash-looping (default 3).
	ClientRestarts int `yaml:"clientRestarts,omitempty" json:"clientRestarts,omitempty"`
	// BackupAge: a client whose last successful backup is older alerts
	// (default: the longest gap of backups.schedule plus BackupGrace; 26h
	// without a schedule). Left zero by the loader when unset, so the
	// renderer can tell a chosen age from a default one.
	BackupAge Duration `yaml:"backupAge,omitempty" json:"backupAge,omitempty"`
	// ReconcileFailing: how long reconcile passes may keep failing (default 10m).
	ReconcileFailing Duration `yaml:"reconcileFailing,omitempty" json:"reconcileFailing,omitempty"`
}

// MonitoringPrometheus is the Prometheus container plan/apply run with deploy.
type MonitoringPrometheus struct {
	// BindAddress is where Prometheus listens (default 127.0.0.1, not
	// monitoring.bindAddress: --web.enable-lifecycle serves an
	// unauthenticated /-/quit).
	BindAddress string   `yaml:"bindAddress,omitempty" json:"bindAddress,omitempty"`
	Image       string   `yaml:"image,omitempty" json:"image,omitempty"`
	Port        int      `yaml:"port,omitempty" json:"port,omitempty"`
	Retention   Duration `yaml:"retention,omitempty" json:"retention,omitempty"`
}

// MonitoringGrafana is the Grafana container plan/apply run with deploy.
type MonitoringGrafana struct {
	Image string `yaml:"image,omitempty" json:"image,omitempty"`
	Port  int    `yaml:"port,omitempty" json:"port,omitempty"`
	// AdminPassword is Grafana's admin password (a secret reference; required with deploy).
	AdminPassword SecretRef `yaml:"adminPassword,omitempty" json:"adminPassword,omitempty"`
}

// Monitoring defaults.
const (
	DefaultWatchListen        = "127.0.0.1:9100"
	DefaultScrapeInterval     = 15 * time.Second
	DefaultEvaluationInterval = 15 * time.Second
	DefaultReplicationLag     = 30 * time.Second
	DefaultLeaseMargin        = 3 * time.Second
	DefaultHeartbeatFailures  = 3
	DefaultClientRestarts     = 3
	DefaultBackupAge          = 26 * time.Hour
	BackupGrace               = time.Hour // a backup's own run time, on top of its schedule's gap
	DefaultReconcileFailing   = 10 * time.Minute
	DefaultPrometheusImage    = "prom/prometheus:v2.53.0"
	DefaultPrometheusPort     = 9090
	DefaultPrometheusRetain   = 15 * 24 * time.Hour
	DefaultGrafanaImage       = "grafana/grafana:11.1.0"
	DefaultGrafanaPort        = 3000
)

// monitoring checks what the schema cannot: addresses that parse, distinct
// ports, a password when Grafana is deployed.
func (v validator) monitoring(path string, m *Monitoring) {
	if m == nil {
		return
	}
	v.bindAddress(path+".bindAddress", m.BindAddress)
	v.bindAddress(path+".prometheus.bindAddress", m.Prometheus.BindAddress)
	for _, list := range []struct {
		name  string
		addrs []string
	}{{"watch", m.Targets.Watch}, {"syncNodes", m.Targets.SyncNodes}} {
		seen := map[string]bool{}
		for i, a := range list.addrs {
			p := joinIndex(path+".targets."+list.name, i)
			if !v.set(p) {
				continue
			}
			if !hostPort(a) {
				v.errf(p, "must be host:port, such as 127.0.0.1:9100")
			} else if seen[a] {
				v.errf(p, "%s is listed twice", quote(a))
			}
			seen[a] = true
		}
	}
	if m.Deploy {
		// The containers bind-mount the directory, and its path is part of
		// their config: relative to fleet.yaml, a CI workspace and the watch
		// daemon's /etc/fleetctl would recreate each other's containers.
		if m.Dir == "" {
			v.errAt(v.ix.val(path), path+".dir",
				"deploy: true needs dir, an absolute path such as /var/lib/fleetctl/monitoring (the containers mount it; every plan/apply/watch must see it at the same path, writable)")
		} else if !filepath.IsAbs(m.Dir) && v.set(path+".dir") {
			v.errf(path+".dir", "with deploy: true, must be an absolute path (the containers mount it and their config names it: a path relative to fleet.yaml differs between checkouts)")
		}
		if m.Grafana.AdminPassword.IsZero() {
			v.errAt(v.ix.val(path), path+".grafana.adminPassword",
				"deploy: true runs Grafana, which needs adminPassword, a secret reference such as ${env:GRAFANA_ADMIN_PASSWORD}")
		}
		pp, gp := path+".prometheus.port", path+".grafana.port"
		if v.set(pp) && v.set(gp) && m.Prometheus.Port == m.Grafana.Port {
			v.errf(gp, "must differ from prometheus.port (%d)", m.Prometheus.Port)
		}
	}
}

// monitoringShared checks that the deployed monitoring shares no port
// and no name with the clients and sync nodes.
func (v validator) monitoringShared(spec *Spec) {
	if m := spec.Monitoring; m != nil && m.Deploy {
		if len(spec.Hosts) > 0 && v.set("monitoring.deploy") {
			v.errf("monitoring.deploy", "not supported with hosts: (Prometheus and Grafana run on a single local engine): set deploy: false and run them yourself from `fleetctl monitoring render`")
		}
		v.monitoringPort("monitoring", "prometheus", m.Prometheus.Port, DefaultPrometheusPort, spec)
		v.monitoringPort("monitoring", "grafana", m.Grafana.Port, DefaultGrafanaPort, spec)
		v.monitoringNames(spec)
	}
}

// MonitoringNames are the container and data volume of the monitoring
// deploy's role ("prometheus", "grafana") in fleet.
func MonitoringNames(fleet, role string) (container, volume string) {
	return fleet + "-" + role, fleet + "-" + role + "-data"
}

// monitoringNames checks that no client's container or volume, and no sync
// node, has the name of a monitoring container or volume: both would be
// planned, and one would take the other's.
func (v validator) monitoringNames(spec *Spec) {
	for _, role := range []string{"prometheus", "grafana"} {
		ctr, vol := MonitoringNames(spec.Fleet, role)
		for i := range spec.Clients {
			c := &spec.Clients[i]
			p := joinIndex("clients", i)
			at := p + ".name"
			if !v.set(at) {
				at = p
			}
			if spec.ContainerName(c) == ctr {
				v.errf(at, "client %s's container would be %s, the name of the monitoring deploy's %s: rename the client", quote(c.Name), ctr, role)
			}
			if spec.VolumeName(c) == vol {
				if v.set(p + ".volume") {
					at = p + ".volume"
				}
				v.errf(at, "client %s's volume would be %s, the monitoring deploy's %s data volume: rename the client or its volume", quote(c.Name), vol, role)
			}
		}
		if spec.Sync == nil {
			continue
		}
		for i, n := range spec.Sync.Nodes {
			if p := joinIndex("sync.nodes", i) + ".name"; n.Name == ctr && v.set(p) {
				v.errf(p, "%s is the name of the monitoring deploy's %s container: rename the node", ctr, role)
			}
		}
	}
}

// monitoringPort checks that role's port (def when unset) is no client's
// or sync node's: Prometheus and Grafana listen on the host network.
func (v validator) monitoringPort(path, role string, port, def int, spec *Spec) {
	p := path + "." + role + ".port"
	where := p
	if port == 0 {
		port, where = def, path
	} else if !v.set(p) {
		return
	}
	msg := func(owner string) {
		if where == path {
			v.errf(where, "%s's default port %d is already used by %s: set %s.port", role, port, owner, role)
		} else {
			v.errf(where, "port %d is already used by %s", port, owner)
		}
	}
	for i := range spec.Clients {
		if spec.Clients[i].Port == port {
			msg(fmt.Sprintf("%s (%s)", joinIndex("clients", i), spec.Clients[i].Name))
			return
		}
	}
	if spec.Sync != nil {
		for i, n := range spec.Sync.Nodes {
			if n.Port == port {
				msg(fmt.Sprintf("%s (%s)", joinIndex("sync.nodes", i), n.Name))
				return
			}
		}
	}
}

// DefaultMonitoringDir is monitoring.dir when unset.
const DefaultMonitoringDir = "monitoring"

// MonitoringDir is the directory deploy writes the rendered files to:
// monitoring.dir, relative to fleet.yaml's directory (the path as written
// when the spec was not loaded from a file).
func (s *Spec) MonitoringDir() string {
	dir := DefaultMonitoringDir
	if s.Monitoring != nil && s.Monitoring.Dir != "" {
		dir = s.Monitoring.Dir
	}
	if !filepath.IsAbs(dir) && s.Path != "" {
		dir = filepath.Join(filepath.Dir(s.Path), dir)
	}
	return filepath.Clean(dir)
}

// hostPort reports whether a is host:port with a port of 1..65535.
func hostPort(a string) bool {
	host, port, err := net.SplitHostPort(a)
	if err != nil || host == "" {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 1 && n <= 65535
}

// applyMonitoringDefaults fills every unset monitoring field, so the
// renderer reads only Monitoring fields.
func applyMonitoringDefaults(m *Monitoring) {
	if m == nil {
		return
	}
	m.BindAddress = first(m.BindAddress, DefaultBindAddress)
	m.Prometheus.BindAddress = first(m.Prometheus.BindAddress, DefaultBindAddress)
	setDur(&m.ScrapeInterval, DefaultScrapeInterval)
	setDur(&m.EvaluationInterval, DefaultEvaluationInterval)
	if len(m.Targets.Watch) == 0 {
		m.Targets.Watch = []string{DefaultWatchListen}
	}
	t := &m.Thresholds
	setDur(&t.ReplicationLag, DefaultReplicationLag)
	setDur(&t.LeaseMargin, DefaultLeaseMargin)
	setDur(&t.ReconcileFailing, DefaultReconcileFailing)
	if t.HeartbeatFailures == 0 {
		t.HeartbeatFailures = DefaultHeartbeatFailures
	}
	if t.ClientRestarts == 0 {
		t.ClientRestarts = DefaultClientRestarts
	}
	m.Prometheus.Image = NormalizeImage(first(m.Prometheus.Image, DefaultPrometheusImage))
	m.Grafana.Image = NormalizeImage(first(m.Grafana.Image, DefaultGrafanaImage))
	if m.Prometheus.Port == 0 {
		m.Prometheus.Port = DefaultPrometheusPort
	}
	if m.Grafana.Port == 0 {
		m.Grafana.Port = DefaultGrafanaPort
	}
	setDur(&m.Prometheus.Retention, DefaultPrometheusRetain)
}

func setDur(d *Duration, def time.Duration) {
	if *d == 0 {
		*d = Duration(def)
	}
}
