package monitoring

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/quantabase/fleetctl/pkg/fleet"
)

// File is one rendered file, Path relative to the output directory.
type File struct {
	Path string
	Data []byte
}

// The rendered files, relative to the output directory.
const (
	PrometheusConfig    = "prometheus/prometheus.yml"
	AlertRules          = "prometheus/alerts.yml"
	GrafanaDatasource   = "grafana/provisioning/datasources/fleetctl.yml"
	GrafanaProvider     = "grafana/provisioning/dashboards/fleetctl.yml"
	SyncDashboard       = "grafana/dashboards/sync-clusters.json"
	OverviewDashboard   = "grafana/dashboards/fleet-overview.json"
	alertsFile          = "alerts.yml" // rule_files entry, beside prometheus.yml
	dashboardsMountPath = "/etc/grafana/dashboards"
)

// Job names of the scrape configs (the alert rules select on them).
const (
	JobWatch = "fleetctl-watch"
	JobSync  = "fleetctl-sync"
)

// SyncCluster is one HA sync cluster to scrape: its name becomes the
// `cluster` label of its nodes' series.
type SyncCluster struct {
	Name  string
	Nodes []SyncNode
}

// SyncNode is one sync node's metrics endpoint.
type SyncNode struct {
	Name    string // the `node` label
	Address string // host:port
}

// Input is what Render reads: the spec (clients, monitoring section) and the
// sync clusters, which the caller derives from the spec (SyncClusters) so
// this package needs to know nothing of how a sync section is written.
type Input struct {
	Spec *fleet.Spec
	Sync []SyncCluster
}

// SyncClusters are the sync clusters of the spec: the nodes of its sync
// section (default openwebui-sync-node-a on 9443 and -b on 9444), reached on
// the section's bind address (127.0.0.1 for a wildcard), as one cluster
// named after the fleet. monitoring.targets.syncNodes, when set, replaces
// those addresses (nodes named openwebui-sync-node-a, -b, … in order).
func SyncClusters(s *fleet.Spec) []SyncCluster {
	c := SyncCluster{Name: s.Fleet}
	if m := s.Monitoring; m != nil && len(m.Targets.SyncNodes) > 0 {
		for i, a := range m.Targets.SyncNodes {
			c.Nodes = append(c.Nodes, SyncNode{Name: NodeName(i), Address: a})
		}
		return []SyncCluster{c}
	}
	if s.Sync == nil {
		return nil
	}
	host := s.Sync.SyncBindAddress()
	switch host {
	case "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	for _, n := range s.Sync.NodeList() {
		c.Nodes = append(c.Nodes, SyncNode{Name: n.Name, Address: net.JoinHostPort(host, strconv.Itoa(n.Port))})
	}
	return []SyncCluster{c}
}

// NodeName is the old system's name of the i-th sync node
// (openwebui-sync-node-a, -b, …; then -node-26, … past z).
func NodeName(i int) string {
	if i < 26 {
		return "openwebui-sync-node-" + string(rune('a'+i))
	}
	return fmt.Sprintf("openwebui-sync-node-%d", i)
}

// Render renders every file from in. A spec without a monitoring section
// renders with the section's defaults.
func Render(in Input) ([]File, error) {
	s := in.Spec
	if s == nil {
		return nil, fmt.Errorf("render monitoring: no spec")
	}
	m := s.Monitoring
	if m == nil {
		var err error
		if m, err = defaultMonitoring(); err != nil {
			return nil, err
		}
	}
	r := renderer{spec: s, mon: m, sync: in.Sync, backupAge: BackupMaxAge(s)}
	var files []File
	for _, f := range []struct {
		path string
		fn   func() ([]byte, error)
	}{
		{PrometheusConfig, r.prometheusConfig},
		{AlertRules, r.alertRules},
		{GrafanaDatasource, r.datasource},
		{GrafanaProvider, r.provider},
		{SyncDashboard, r.syncDashboard},
		{OverviewDashboard, r.overviewDashboard},
	} {
		data, err := f.fn()
		if err != nil {
			return nil, fmt.Errorf("render %s: %w", f.path, err)
		}
		files = append(files, File{Path: f.path, Data: data})
	}
	return files, nil
}

// defaultMonitoring is an empty monitoring section with its defaults, as
// the loader would fill them.
func defaultMonitoring() (*fleet.Monitoring, error) {
	s, err := fleet.Parse([]byte("apiVersion: fleetctl/v1\nfleet: x\nsecretKeySeed: ${env:X}\nclients: []\nmonitoring: {}\n"), "defaults")
	if err != nil {
		return nil, fmt.Errorf("monitoring defaults: %w", err)
	}
	return s.Monitoring, nil
}

type renderer struct {
	spec *fleet.Spec
	mon  *fleet.Monitoring
	sync []SyncCluster
	// backupAge is BackupMaxAge of the spec.
	backupAge time.Duration
}

// header starts every rendered YAML file.
func (r renderer) header() string {
	return "# Rendered by `fleetctl monitoring render` from fleet.yaml (fleet " + r.spec.Fleet + ").\n" +
		"# Do not edit: change fleet.yaml and render again.\n"
}

// runningClients are the clients fleet.yaml wants running, in file order.
func (r renderer) runningClients() []string {
	var out []string
	for i := range r.spec.Clients {
		if c := &r.spec.Clients[i]; c.State != fleet.StateStopped {
			out = append(out, c.Name)
		}
	}
	return out
}

func (r renderer) clusterNames() []string {
	out := make([]string, 0, len(r.sync))
	for _, c := range r.sync {
		out = append(out, c.Name)
	}
	return out
}

// seconds formats d as a PromQL number of seconds.
func seconds(d fleet.Duration) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.3f", d.Std().Seconds()), "0"), ".")
}
