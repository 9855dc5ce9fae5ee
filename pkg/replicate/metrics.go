package replicate

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics keeps the old system's names, so its dashboards keep working,
// plus the lag per client and the term. A registry per node: no global state.
type metrics struct {
	reg               *prometheus.Registry
	electionAttempts  prometheus.Counter
	electionSuccesses prometheus.Counter
	leaseExpires      prometheus.Gauge
	heartbeatFailures prometheus.Counter
	ops               *prometheus.CounterVec
	opDuration        prometheus.Histogram
	rows              prometheus.Counter
	conflicts         prometheus.Counter
	resolved          *prometheus.CounterVec
	failovers         prometheus.Counter
	chunks            prometheus.Counter
	chunksDiffering   prometheus.Counter
	staged            prometheus.Counter
}

func newMetrics(n *Node) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	counter := func(name, help string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
		m.reg.MustRegister(c)
		return c
	}
	m.electionAttempts = counter("sync_leader_election_attempts_total", "Attempts to acquire the lease while not leading.")
	m.electionSuccesses = counter("sync_leader_election_successes_total", "Times this node became leader.")
	m.heartbeatFailures = counter("sync_heartbeat_failures_total", "Lease renewals or heartbeats that failed.")
	m.rows = counter("sync_rows_synced_total", "Rows written or deleted in the target.")
	m.conflicts = counter("sync_conflicts_detected_total", "Conflicts detected.")
	m.chunks = counter("sync_chunks_compared_total", "Key-space chunks compared by full passes.")
	m.chunksDiffering = counter("sync_chunks_differing_total", "Chunks whose source and target hashes differed (staged and compared row by row).")
	m.staged = counter("sync_rows_staged_total", "Source rows (or keys) staged into the target for comparison.")
	m.failovers = counter("sync_failover_events_total", "Times this node took the lease over from another node.")
	m.leaseExpires = prometheus.NewGauge(prometheus.GaugeOpts{Name: "sync_leader_lease_expires_timestamp",
		Help: "Unix time the lease held by this node ends (0: not leading)."})
	m.ops = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sync_operations_total",
		Help: "Sync passes per client, by outcome (ok, failed, fenced)."}, []string{"status"})
	m.opDuration = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "sync_operation_duration_seconds",
		Help: "Duration of one client's sync pass.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 14)})
	m.resolved = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sync_conflicts_resolved_total",
		Help: "Conflicts resolved, by strategy (manual: through the API)."}, []string{"strategy"})
	m.reg.MustRegister(m.leaseExpires, m.ops, m.opDuration, m.resolved)
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sync_is_leader", Help: "1 while this node leads."}, func() float64 {
			if r, _ := n.Role(); r == Leader {
				return 1
			}
			return 0
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sync_leader_term", Help: "The term (fencing token) held or last seen."}, func() float64 {
			_, t := n.Role()
			return float64(t)
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sync_container_uptime_seconds", Help: "Seconds since the node started."}, func() float64 {
			return time.Since(n.started).Seconds()
		}),
		lagCollector{n},
	)
	for _, s := range Strategies {
		m.resolved.WithLabelValues(string(s))
	}
	for _, s := range []string{"ok", "failed", "fenced"} {
		m.ops.WithLabelValues(s)
	}
	return m
}

var lagDesc = prometheus.NewDesc("sync_replication_lag_seconds",
	"Seconds since the start of the client's last complete pass: every older change is in the target.", []string{"client"}, nil)

type lagCollector struct{ n *Node }

func (c lagCollector) Describe(ch chan<- *prometheus.Desc) { ch <- lagDesc }
func (c lagCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.n.Clients() {
		if s.LastSync != nil {
			ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, s.LagSeconds, s.Name)
		}
	}
}
