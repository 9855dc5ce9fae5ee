package monitoring

import (
	"strconv"

	"github.com/quantabase/fleetctl/pkg/fleet"
)

// The rule file format Prometheus reads (rule_files).
type ruleFile struct {
	Groups []ruleGroup `yaml:"groups"`
}

type ruleGroup struct {
	Name  string `yaml:"name"`
	Rules []rule `yaml:"rules"`
}

type rule struct {
	Record      string            `yaml:"record,omitempty"`
	Alert       string            `yaml:"alert,omitempty"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

// DesiredRunning is the recording rule that says which clients fleet.yaml
// wants running: one series per client, so "down" also catches a client the
// daemon does not report at all.
const DesiredRunning = "fleet:client_desired_running"

func alert(name, expr, forDur, severity, summary, runbook string) rule {
	return rule{Alert: name, Expr: expr, For: forDur,
		Labels:      map[string]string{"severity": severity},
		Annotations: map[string]string{"summary": summary, "runbook": runbook}}
}

// alertRules renders the desired-state recording rules and the alerts: the
// daemon and the clients always, the sync clusters when there are any.
func (r renderer) alertRules() ([]byte, error) {
	f := ruleFile{}
	desired := ruleGroup{Name: "fleetctl-desired-state"}
	for _, c := range r.runningClients() {
		desired.Rules = append(desired.Rules, rule{Record: DesiredRunning, Expr: "vector(1)",
			Labels: map[string]string{"client": c}})
	}
	if len(desired.Rules) > 0 {
		f.Groups = append(f.Groups, desired)
	}
	f.Groups = append(f.Groups, r.fleetAlerts(), r.clientAlerts())
	if len(r.sync) > 0 {
		f.Groups = append(f.Groups, r.syncAlerts())
	}
	return r.yamlFile(f)
}

func (r renderer) fleetAlerts() ruleGroup {
	t := r.mon.Thresholds
	failing := t.ReconcileFailing.String()
	watch := `job="` + JobWatch + `"`
	return ruleGroup{Name: "fleetctl-watch", Rules: []rule{
		alert("FleetctlWatchDown", `up{`+watch+`} == 0`, "2m", "critical",
			"fleetctl watch on {{ $labels.instance }} is not scraped: nothing keeps the fleet converged",
			"Is the daemon running? `systemctl status fleetctl-watch`, then `fleetctl status` and `fleetctl plan` to see what drifted meanwhile."),
		alert("FleetctlWatchAbsent", `absent(up{`+watch+`})`, "5m", "critical",
			"No fleetctl watch daemon is being scraped at all",
			"Check monitoring.targets.watch in fleet.yaml against `fleetctl watch --listen`, then `fleetctl monitoring render` again."),
		alert("FleetSpecInvalid", `fleet_spec_valid == 0`, "1m", "warning",
			"fleet.yaml on {{ $labels.instance }} is invalid: the daemon keeps running the last valid one",
			"`fleetctl validate -f fleet.yaml` lists every error with its line and column."),
		alert("FleetReconcileFailing",
			`sum by (instance) (increase(fleet_reconciles_total{result=~"failure|error"}[`+failing+`])) > 0`+
				` unless sum by (instance) (increase(fleet_reconciles_total{result="success"}[`+failing+`])) > 0`,
			"", "warning",
			"Reconcile passes on {{ $labels.instance }} have failed for "+failing+" without one success",
			"`fleetctl plan` shows what the daemon keeps trying; the status page of `fleetctl watch` shows the last errors."),
		alert("FleetDockerUnreachable", `fleet_docker_reachable == 0`, "2m", "critical",
			"The Docker engine does not answer fleetctl watch on {{ $labels.instance }}",
			"`fleetctl status` (it calls the same engine); check the Docker daemon on that host."),
	}}
}

func (r renderer) clientAlerts() ruleGroup {
	t := r.mon.Thresholds
	return ruleGroup{Name: "fleetctl-clients", Rules: []rule{
		alert("FleetClientDown", DesiredRunning+` unless on (client) (fleet_client_up == 1)`, "2m", "critical",
			"Client {{ $labels.client }} should be running but its container is not",
			"`fleetctl status` shows its state; `fleetctl plan` what apply would do about it."),
		alert("FleetClientCrashLooping",
			// Exits seen as events, or restarts the engine made itself (restart policy).
			`increase(fleet_client_container_exits_total[15m]) >= `+strconv.Itoa(t.ClientRestarts)+
				` or delta(fleet_client_restarts[15m]) >= `+strconv.Itoa(t.ClientRestarts), "", "critical",
			"Client {{ $labels.client }} exited at least "+strconv.Itoa(t.ClientRestarts)+" times in 15 minutes (crash-looping)",
			"`fleetctl status` shows its restarts and `fleetctl plan` its last log lines under Problems."),
		alert("FleetClientUnhealthy",
			`(fleet_client_healthy == 0) and on (client) (fleet_client_up == 1) and on (client) `+DesiredRunning, "5m", "warning",
			"Client {{ $labels.client }} runs but fails its health check",
			"`fleetctl status` shows the failing probe; the client's logs say why."),
		alert("FleetBackupTooOld",
			`time() - fleet_backup_last_success_timestamp_seconds > `+seconds(fleet.Duration(r.backupAge)), "", "warning",
			"The last successful backup of {{ $labels.client }} is older than "+fleet.Duration(r.backupAge).String(),
			"`fleetctl backup list {{ $labels.client }}` shows its backups; `fleetctl backup {{ $labels.client }}` takes one now."),
		alert("FleetBackupFailing", `increase(fleet_backup_failures_total[1h]) > 0`, "", "warning",
			"A scheduled backup of {{ $labels.client }} failed within the last hour (nothing was stored or pruned)",
			"The daemon's log has the error; `fleetctl backup {{ $labels.client }}` runs one by hand and says why."),
	}}
}

func (r renderer) syncAlerts() ruleGroup {
	t := r.mon.Thresholds
	sync := `job="` + JobSync + `"`
	lag := seconds(t.ReplicationLag)
	return ruleGroup{Name: "fleetctl-sync", Rules: []rule{
		alert("SyncNoLeader", `sum by (cluster) (sync_is_leader or (up{`+sync+`} * 0)) < 1`, "1m", "critical",
			"Sync cluster {{ $labels.cluster }} has had no leader for 1m: nothing is replicated",
			"`fleetctl sync status` shows each node's heartbeat and the lease."),
		alert("SyncSplitBrain", `sum by (cluster) (sync_is_leader) > 1`, "30s", "critical",
			"Sync cluster {{ $labels.cluster }} has {{ $value }} nodes that say they lead",
			"`fleetctl sync status` shows the term each node holds; writes of an old term are fenced."),
		alert("SyncLeaseNotRenewed",
			`(sync_leader_lease_expires_timestamp - timestamp(sync_leader_lease_expires_timestamp)) < `+seconds(t.LeaseMargin)+
				` and on (instance) (sync_is_leader == 1)`, "30s", "warning",
			"The leader {{ $labels.node }} of {{ $labels.cluster }} lets its lease run to within "+t.LeaseMargin.String()+" of expiry",
			"`fleetctl sync status` shows the lease expiry; a stuck leader is replaced when its lease runs out."),
		alert("SyncHeartbeatFailures",
			`increase(sync_heartbeat_failures_total[5m]) >= `+strconv.Itoa(t.HeartbeatFailures), "", "warning",
			"Node {{ $labels.node }} of {{ $labels.cluster }} failed at least "+strconv.Itoa(t.HeartbeatFailures)+" heartbeats in 5 minutes",
			"`fleetctl sync status` shows each node's last heartbeat; check the target database's reachability."),
		// The resolved counter has no series before the first resolution: it counts as 0.
		alert("SyncConflictsUnresolved",
			`sum by (cluster) (sync_conflicts_detected_total) - (sum by (cluster) (sync_conflicts_resolved_total)`+
				` or sum by (cluster) (sync_conflicts_detected_total) * 0) > 0`, "15m", "warning",
			"Sync cluster {{ $labels.cluster }} has {{ $value }} conflicts waiting to be resolved",
			"`fleetctl sync status` lists open conflicts; resolve them through the node's /api/v1/conflicts."),
		alert("SyncReplicationLag",
			`max by (cluster, client) (sync_replication_lag_seconds) > `+lag, "2m", "warning",
			"Client {{ $labels.client }} lags more than "+t.ReplicationLag.String()+" behind in cluster {{ $labels.cluster }}",
			"`fleetctl sync status` shows each client's lag and last sync."),
		alert("SyncOperationsFailing",
			`sum by (cluster) (rate(sync_operations_total{status="failed"}[5m])) > 0`, "10m", "warning",
			"Sync passes of {{ $labels.cluster }} have kept failing for 10 minutes",
			"`fleetctl sync status` shows the last sync of each client and its error."),
		alert("SyncNodeDown", `up{`+sync+`} == 0`, "1m", "warning",
			"Sync node {{ $labels.node }} of {{ $labels.cluster }} is not scraped",
			"`fleetctl sync status`; `fleetctl plan` recreates a node container that is gone."),
	}}
}

// Alerts lists the alert names Render can produce, for tests and docs.
func Alerts() []string {
	m, err := defaultMonitoring()
	if err != nil {
		return nil
	}
	r := renderer{mon: m, sync: []SyncCluster{{Name: "x"}}}
	var out []string
	for _, g := range []ruleGroup{r.fleetAlerts(), r.clientAlerts(), r.syncAlerts()} {
		for _, ru := range g.Rules {
			out = append(out, ru.Alert)
		}
	}
	return out
}
