package watch

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/quantabase/fleetctl/pkg/observe"
)

func (m *Metrics) newHostReachable() prometheus.Collector {
	m.hostReachable = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "fleet_host_reachable",
		Help: "Per host of a fleet with hosts: 1 when the last pass observed it, else 0.",
	}, []string{"host"})
	return m.hostReachable
}

// setHosts records each host's reachability from a snapshot (nothing for a
// fleet without hosts). Hosts no longer in fleet.yaml drop out.
func (m *Metrics) setHosts(hs []observe.HostState) {
	if len(hs) == 0 {
		return
	}
	m.hostReachable.Reset()
	for i := range hs {
		v := 0.0
		if hs[i].Reachable() {
			v = 1
		}
		m.hostReachable.WithLabelValues(hs[i].Host).Set(v)
	}
}
