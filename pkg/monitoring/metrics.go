package monitoring

// SyncMetrics are the sync node's metric names (issue 11 fixes them so the
// old dashboards keep working), in one place. pkg/replicate's registry
// belongs to a running node (NewNode needs its database), so the test that
// checks every name a panel or rule uses reads this list for them, and
// TestSyncMetricsMatchReplicate keeps the list equal to the names
// pkg/replicate's source registers (the term gauge is sync_leader_term;
// sync_operations_total's status is ok, failed or fenced). The watch
// daemon's names, backups included, are probed in its registry.
var SyncMetrics = []string{
	"sync_is_leader",
	"sync_leader_term",
	"sync_leader_election_attempts_total",
	"sync_leader_election_successes_total",
	"sync_leader_lease_expires_timestamp",
	"sync_heartbeat_failures_total",
	"sync_container_uptime_seconds",
	"sync_operations_total",
	"sync_operation_duration_seconds",
	"sync_rows_synced_total",
	"sync_conflicts_detected_total",
	"sync_conflicts_resolved_total",
	"sync_failover_events_total",
	"sync_replication_lag_seconds",
	"sync_chunks_compared_total",
	"sync_chunks_differing_total",
	"sync_rows_staged_total",
}
