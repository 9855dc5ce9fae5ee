package monitoring

import (
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// Dashboard UIDs (stable: links and bookmarks survive a re-render).
const (
	SyncDashboardUID     = "fleetctl-sync-clusters"
	OverviewDashboardUID = "fleetctl-fleet-overview"
)

// syncDashboard shows the HA sync clusters: who leads, failovers, lease
// and heartbeats, sync rate and failures, conflicts, lag.
func (r renderer) syncDashboard() ([]byte, error) {
	lag := r.mon.Thresholds.ReplicationLag.Std().Seconds()
	c := `cluster=~"$cluster"`
	rate := "[$__rate_interval]"
	b := newDashboard(SyncDashboardUID, "fleetctl "+r.spec.Fleet+": sync clusters", "sync").
		WithVariable(listVariable("cluster", "Cluster", r.clusterNames())).
		WithRow(dashboard.NewRowBuilder("Leadership")).
		WithPanel(single("Leaders", "Nodes that say they lead, per cluster: 1 is right, 0 means nothing replicates, more is split brain.", "none",
			query(`sum by (cluster) (sync_is_leader{`+c+`})`, "{{cluster}}"),
			dashboard.Threshold{Color: "red"}, step(ptr(1), "green"), step(ptr(2), "red"))).
		WithPanel(single("Term", "The leader's term (fencing token): it grows with every new leader.", "none",
			query(`max by (cluster) (sync_leader_term{`+c+`})`, "{{cluster}}"))).
		WithPanel(single("Failovers (range)", "Leader changes in the selected time range.", "none",
			query(`sum by (cluster) (increase(sync_failover_events_total{`+c+`}[$__range]))`, "{{cluster}}"), okBelow(1)...)).
		WithPanel(single("Nodes up", "Sync nodes Prometheus can scrape.", "none",
			query(`sum by (cluster) (up{job="`+JobSync+`",`+c+`})`, "{{cluster}}"), okAbove(2)...)).
		WithPanel(series("Leader over time", "1 while a node holds the lease: one line up at a time per cluster.", "none",
			query(`sync_is_leader{`+c+`}`, "{{cluster}} {{node}}")).
			LineInterpolation(common.LineInterpolationStepAfter)).
		WithPanel(series("Failover events", "Leader changes per interval.", "none",
			query(`sum by (cluster) (increase(sync_failover_events_total{`+c+`}`+rate+`))`, "{{cluster}}"))).
		WithPanel(series("Lease time left at renewal", "Seconds the leader's lease had left when scraped (heartbeat freshness): a healthy leader stays near lease minus renew interval.", "s",
			query(`sync_leader_lease_expires_timestamp{`+c+`} - timestamp(sync_leader_lease_expires_timestamp{`+c+`})`, "{{cluster}} {{node}}"))).
		WithPanel(series("Heartbeat failures and elections", "Failed heartbeats, election attempts and successes per second.", "ops",
			query(`sum by (cluster, node) (rate(sync_heartbeat_failures_total{`+c+`}`+rate+`))`, "heartbeat failures {{node}}"),
			query(`sum by (cluster, node) (rate(sync_leader_election_attempts_total{`+c+`}`+rate+`))`, "election attempts {{node}}"),
			query(`sum by (cluster, node) (rate(sync_leader_election_successes_total{`+c+`}`+rate+`))`, "elections won {{node}}"))).
		WithRow(dashboard.NewRowBuilder("Replication")).
		WithPanel(series("Sync operations by status", "Sync passes per second, by status (ok, failed, fenced: an old leader's writes refused).", "ops",
			query(`sum by (cluster, status) (rate(sync_operations_total{`+c+`}`+rate+`))`, "{{cluster}} {{status}}"))).
		WithPanel(series("Rows synced", "Rows written to the target per second.", "rowsps",
			query(`sum by (cluster) (rate(sync_rows_synced_total{`+c+`}`+rate+`))`, "{{cluster}}"))).
		WithPanel(series("Sync operation duration", "Median and 95th percentile of one sync operation.", "s",
			query(`histogram_quantile(0.5, sum by (cluster, le) (rate(sync_operation_duration_seconds_bucket{`+c+`}`+rate+`)))`, "p50 {{cluster}}"),
			query(`histogram_quantile(0.95, sum by (cluster, le) (rate(sync_operation_duration_seconds_bucket{`+c+`}`+rate+`)))`, "p95 {{cluster}}"))).
		WithPanel(thresholdLine(series("Replication lag by client", "How far each client's mirror is behind its SQLite database; the dashed line is thresholds.replicationLag.", "s",
			query(`max by (cluster, client) (sync_replication_lag_seconds{`+c+`})`, "{{cluster}} {{client}}")), lag)).
		WithPanel(series("Conflicts", "Conflicts detected, and resolved by strategy, per interval.", "none",
			query(`sum by (cluster) (increase(sync_conflicts_detected_total{`+c+`}`+rate+`))`, "detected {{cluster}}"),
			query(`sum by (cluster, strategy) (increase(sync_conflicts_resolved_total{`+c+`}`+rate+`))`, "resolved {{strategy}} {{cluster}}"))).
		WithPanel(series("Node uptime", "Seconds since each sync node container started: a drop is a restart.", "s",
			query(`sync_container_uptime_seconds{`+c+`}`, "{{cluster}} {{node}}")))
	return dashboardJSON(b)
}

// overviewDashboard shows the fleet as the watch daemon sees it: clients by
// state and health, reconcile passes, drift, actions, backups.
func (r renderer) overviewDashboard() ([]byte, error) {
	cl := `client=~"$client"`
	rate := "[$__rate_interval]"
	b := newDashboard(OverviewDashboardUID, "fleetctl "+r.spec.Fleet+": fleet overview", "fleet").
		WithVariable(listVariable("client", "Client", r.runningClients())).
		WithRow(dashboard.NewRowBuilder("Clients")).
		WithPanel(single("Clients down", "Clients fleet.yaml wants running whose container is not running.", "none",
			query(`count(`+DesiredRunning+` unless on (client) (fleet_client_up == 1)) or vector(0)`, "down"), okBelow(1)...)).
		WithPanel(single("Clients unhealthy", "Running clients whose health probe fails.", "none",
			query(`count(fleet_client_healthy == 0 and on (client) (fleet_client_up == 1)) or vector(0)`, "unhealthy"), okBelow(1)...)).
		WithPanel(single("fleet.yaml valid", "1 when the file on disk is valid and in use.", "none",
			query(`min(fleet_spec_valid)`, "valid"), okAbove(1)...)).
		WithPanel(single("Since last good reconcile", "Time since the last pass that ended without error.", "s",
			query(`time() - max(fleet_last_successful_reconcile_timestamp_seconds)`, "age"),
			okBelow(r.mon.Thresholds.ReconcileFailing.Std().Seconds())...)).
		WithPanel(series("Clients by state and health", "Clients of the fleet by container state and probe result, as last observed.", "none",
			query(`sum by (state, health) (fleet_clients)`, "{{state}} {{health}}"))).
		WithPanel(series("Client up and healthy", "Per client: 1 when its container runs (up) and its probe passes (healthy).", "none",
			query(`fleet_client_up{`+cl+`}`, "up {{client}}"),
			query(`fleet_client_healthy{`+cl+`}`, "healthy {{client}}")).
			LineInterpolation(common.LineInterpolationStepAfter)).
		WithPanel(series("Container exits", "Exits of each client's container per interval, and the engine's restart count: a steady rise is a crash loop.", "none",
			query(`sum by (client) (increase(fleet_client_container_exits_total{`+cl+`}`+rate+`))`, "exits {{client}}"),
			query(`fleet_client_restarts{`+cl+`}`, "restart count {{client}}"))).
		WithPanel(thresholdLine(series("Backup age", "Time since each client's last successful backup; the dashed line is the age the backup alert fires at.", "s",
			query(`time() - fleet_backup_last_success_timestamp_seconds{`+cl+`}`, "{{client}}")), r.backupAge.Seconds())).
		WithPanel(series("Backup size and duration", "Bytes in each client's last verified scheduled backup, and how long it took.", "bytes",
			query(`fleet_backup_size_bytes{`+cl+`}`, "size {{client}}"),
			query(`fleet_backup_duration_seconds{`+cl+`}`, "seconds {{client}}"))).
		WithPanel(series("Backup failures", "Failed scheduled backups per interval.", "none",
			query(`sum by (client) (increase(fleet_backup_failures_total{`+cl+`}`+rate+`))`, "{{client}}"))).
		WithRow(dashboard.NewRowBuilder("Reconcile")).
		WithPanel(series("Reconcile results", "Reconcile passes per second by result.", "ops",
			query(`sum by (result) (rate(fleet_reconciles_total`+rate+`))`, "{{result}}"))).
		WithPanel(series("Reconcile duration", "Median and 95th percentile of one pass (lock wait, observe, plan, apply).", "s",
			query(`histogram_quantile(0.5, sum by (le) (rate(fleet_reconcile_duration_seconds_bucket`+rate+`)))`, "p50"),
			query(`histogram_quantile(0.95, sum by (le) (rate(fleet_reconcile_duration_seconds_bucket`+rate+`)))`, "p95"))).
		WithPanel(series("Drift detected", "What the passes found out of place, by kind, per interval.", "none",
			query(`sum by (kind) (increase(fleet_drift_detected_total`+rate+`))`, "{{kind}}"))).
		WithPanel(series("Actions", "Actions the daemon ran, by kind and result, per interval.", "none",
			query(`sum by (kind, result) (increase(fleet_actions_total`+rate+`))`, "{{kind}} {{result}}"))).
		WithPanel(series("Triggers and Docker events", "Why passes started, and Docker events on client containers, per interval.", "none",
			query(`sum by (trigger) (increase(fleet_reconcile_triggers_total`+rate+`))`, "trigger {{trigger}}"),
			query(`sum by (action) (increase(fleet_docker_events_total`+rate+`))`, "event {{action}}"))).
		WithPanel(series("Detection latency and lock wait", "95th percentile from a trigger to its pass, and of waiting for the fleet lock.", "s",
			query(`histogram_quantile(0.95, sum by (le) (rate(fleet_detection_latency_seconds_bucket`+rate+`)))`, "detection p95"),
			query(`histogram_quantile(0.95, sum by (le) (rate(fleet_lock_wait_seconds_bucket`+rate+`)))`, "lock wait p95")))
	return dashboardJSON(b)
}

func ptr(v float64) *float64 { return &v }
