package watch

import "github.com/prometheus/client_golang/prometheus"

// clientMetrics are the per-client series the rendered alert rules and
// dashboards read (pkg/monitoring): one series per client of the fleet, so
// their number is bounded by fleet.yaml, never by free text.
type clientMetrics struct {
	up       *prometheus.GaugeVec
	healthy  *prometheus.GaugeVec
	restarts *prometheus.GaugeVec
	exits    *prometheus.CounterVec
}

func newClientMetrics(reg *prometheus.Registry) clientMetrics {
	cm := clientMetrics{
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "fleet_client_up",
			Help: "1 when the client's container is running (or restarting), 0 when it is absent, exited or blocked, as last observed.",
		}, []string{"client"}),
		healthy: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "fleet_client_healthy",
			Help: "1 when the client's health probe passed in the last observation, else 0.",
		}, []string{"client"}),
		restarts: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "fleet_client_restarts",
			Help: "The engine's restart count of the client's current container, as last observed.",
		}, []string{"client"}),
		exits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fleet_client_container_exits_total",
			Help: "Exits (die and oom events) of the client's container seen by the daemon.",
		}, []string{"client"}),
	}
	reg.MustRegister(cm.up, cm.healthy, cm.restarts, cm.exits)
	return cm
}

// set replaces the per-client gauges (a removed client's series go away).
func (cm clientMetrics) set(cs []ClientStatus) {
	cm.up.Reset()
	cm.healthy.Reset()
	cm.restarts.Reset()
	for _, c := range cs {
		up, healthy := 0.0, 0.0
		if c.State == "running" || c.State == "restarting" {
			up = 1
		}
		if healthLabel(c.Health) == "healthy" {
			healthy = 1
		}
		cm.up.WithLabelValues(c.Name).Set(up)
		cm.healthy.WithLabelValues(c.Name).Set(healthy)
		cm.restarts.WithLabelValues(c.Name).Set(float64(c.Restarts))
	}
}

// event counts a container exit of one client.
func (cm clientMetrics) event(client, action string) {
	if client != "" && (action == "die" || action == "oom") {
		cm.exits.WithLabelValues(client).Inc()
	}
}
