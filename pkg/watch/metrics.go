package watch

import (
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/quantabase/fleetctl/pkg/apply"
	"github.com/quantabase/fleetctl/pkg/plan"
)

// Metrics are the daemon's Prometheus metrics, in a registry of their own
// (never the global one, so tests and embedders get exactly these).
type Metrics struct {
	reg *prometheus.Registry

	reconciles      *prometheus.CounterVec
	duration        prometheus.Histogram
	actions         *prometheus.CounterVec
	drift           *prometheus.CounterVec
	clients         *prometheus.GaugeVec
	lastSuccess     prometheus.Gauge
	specValid       prometheus.Gauge
	lockWait        prometheus.Histogram
	triggers        *prometheus.CounterVec
	dockerEvents    *prometheus.CounterVec
	backoffClients  prometheus.Gauge
	detectionLag    prometheus.Histogram
	dockerReachable prometheus.Gauge
	hostReachable   *prometheus.GaugeVec // hosts.go
	backupLast      *prometheus.GaugeVec
	backupDuration  *prometheus.GaugeVec
	backupSize      *prometheus.GaugeVec
	backupFailures  *prometheus.CounterVec
	perClient       clientMetrics // client_metrics.go
}

// NewMetrics registers the daemon's metrics (and the Go and process
// collectors, for memory and CPU) in a new registry.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.reconciles = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "fleet_reconciles_total",
		Help: "Reconcile passes by result (success, failure, invalid_spec, locked, error).",
	}, []string{"result"})
	m.duration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "fleet_reconcile_duration_seconds",
		Help:    "Duration of reconcile passes (lock wait, observe, plan and apply).",
		Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120},
	})
	m.actions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "fleet_actions_total",
		Help: "Actions run by the daemon by kind and result (done, failed, skipped).",
	}, []string{"kind", "result"})
	m.drift = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "fleet_drift_detected_total",
		Help: "Drift found by reconcile passes, by kind (container_missing, config_changed, ...).",
	}, []string{"kind"})
	m.clients = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "fleet_clients",
		Help: "Clients of the fleet by container state and health, as last observed.",
	}, []string{"state", "health"})
	m.lastSuccess = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "fleet_last_successful_reconcile_timestamp_seconds",
		Help: "Unix time of the last reconcile pass that completed without error.",
	})
	m.specValid = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "fleet_spec_valid",
		Help: "1 when fleet.yaml on disk is valid and in use, 0 when it is invalid (the last valid spec is kept).",
	})
	m.lockWait = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "fleet_lock_wait_seconds",
		Help:    "Time spent waiting for the fleet lock before a pass.",
		Buckets: []float64{.001, .01, .1, .5, 1, 5, 15, 30, 60, 120, 300},
	})
	m.triggers = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "fleet_reconcile_triggers_total",
		Help: "Reasons a reconcile pass was started (file, docker, resync, sighup, backoff, retry, start).",
	}, []string{"trigger"})
	m.dockerEvents = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "fleet_docker_events_total",
		Help: "Docker events seen on the fleet's client containers, by action.",
	}, []string{"action"})
	m.backoffClients = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "fleet_clients_in_backoff",
		Help: "Clients left out of reconcile passes after repeated failures.",
	})
	m.detectionLag = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "fleet_detection_latency_seconds",
		Help:    "Time from the first trigger (file or Docker event) to the start of the pass it caused.",
		Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	})
	m.dockerReachable = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "fleet_docker_reachable",
		Help: "1 when the Docker engine answered the last call, else 0.",
	})
	m.backupLast = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "fleet_backup_last_success_timestamp_seconds",
		Help: "Unix time of the client's last verified scheduled backup.",
	}, []string{"client"})
	m.backupDuration = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "fleet_backup_duration_seconds",
		Help: "Duration of the client's last verified scheduled backup (snapshot, store, verify).",
	}, []string{"client"})
	m.backupSize = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "fleet_backup_size_bytes",
		Help: "Bytes of data (the volume's files) in the client's last verified scheduled backup.",
	}, []string{"client"})
	m.backupFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "fleet_backup_failures_total",
		Help: "Scheduled backups of the client that failed (nothing was stored or pruned).",
	}, []string{"client"})
	m.reg.MustRegister(m.backupLast, m.backupDuration, m.backupSize, m.backupFailures)
	m.reg.MustRegister(m.reconciles, m.duration, m.actions, m.drift, m.clients, m.lastSuccess,
		m.specValid, m.lockWait, m.triggers, m.dockerEvents, m.backoffClients, m.detectionLag, m.dockerReachable,
		m.newHostReachable(),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.perClient = newClientMetrics(m.reg)
	// Known label values start at zero, so rate() works from the first pass.
	for _, r := range []string{resultSuccess, resultFailure, resultInvalidSpec, resultLocked, resultError} {
		m.reconciles.WithLabelValues(r)
	}
	return m
}

func (m *Metrics) backupDone(client string, at time.Time, out BackupOutcome) {
	m.backupLast.WithLabelValues(client).Set(float64(at.UnixNano()) / 1e9)
	m.backupDuration.WithLabelValues(client).Set(out.Duration.Seconds())
	m.backupSize.WithLabelValues(client).Set(float64(out.Bytes))
}

func (m *Metrics) backupFailed(client string) { m.backupFailures.WithLabelValues(client).Inc() }

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry is the daemon's registry (tests gather from it).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

func (m *Metrics) action(e apply.Event) {
	switch e.Phase {
	case apply.PhaseDone, apply.PhaseFailed, apply.PhaseSkipped:
		m.actions.WithLabelValues(string(e.Action.Kind), string(e.Phase)).Inc()
	}
}

// planDrift counts what a plan found out of place.
func (m *Metrics) planDrift(p *plan.Plan) {
	for i := range p.Actions {
		m.drift.WithLabelValues(driftKind(&p.Actions[i])).Inc()
	}
}

// setClients replaces the clients gauge with counts by (state, health).
func (m *Metrics) setClients(cs []ClientStatus) {
	m.clients.Reset()
	for _, c := range cs {
		m.clients.WithLabelValues(stateLabel(c.State), healthLabel(c.Health)).Inc()
	}
	m.perClient.set(cs)
}

// stateLabel keeps the state label to a small fixed set: the words a row
// carries ("crash-looping (5 restarts)", "exited (code 3)") would make a new
// series at every restart.
func stateLabel(s string) string {
	word, _, _ := strings.Cut(s, " ")
	switch word {
	case "running", "absent", "blocked", "exited", "crash-looping", "restarting", "created", "paused", "dead", "removing":
		return word
	}
	return "other"
}

func healthLabel(h string) string {
	switch {
	case strings.HasPrefix(h, "healthy"):
		return "healthy"
	case strings.HasPrefix(h, "unhealthy"):
		return "unhealthy"
	}
	return "unknown"
}

// driftKind maps an action to a small, fixed set of label values: causes
// are free text (they name env keys), which must not become label values.
func driftKind(a *plan.Action) string {
	cause := strings.Join(a.Causes, "; ")
	switch a.Kind {
	case plan.KindPullImage:
		return "image_missing"
	case plan.KindCreateVolume:
		return "volume_missing"
	case plan.KindCreateContainer:
		return "container_missing"
	case plan.KindStartContainer:
		return "container_not_running"
	case plan.KindStopContainer:
		return "container_running"
	case plan.KindRemoveContainer:
		return "orphan"
	case plan.KindRecreateContainer:
		switch {
		case strings.Contains(cause, "interrupted recreate"):
			return "interrupted_recreate"
		case strings.Contains(cause, "adopt"):
			return "adopt"
		}
		return "config_changed"
	}
	return "other"
}
