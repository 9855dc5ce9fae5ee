package replicate

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/quantabase/fleetctl/pkg/pg"
)

// ClusterStatus is the cluster as PostgreSQL records it (`fleetctl sync status`).
type ClusterStatus struct {
	Leader       string     `json:"leader,omitempty"` // "" when no lease is live
	Term         int64      `json:"term"`
	LeaseExpires *time.Time `json:"leaseExpires,omitempty"`
	// Target is the preflight of the target's host (preflight.go); the
	// CLI fills it in.
	Target  *Reachability     `json:"target,omitempty"`
	Nodes   []NodeStatus      `json:"nodes"`
	Clients []ClientLagStatus `json:"clients"`
	// Canary is the certification canary (CanaryClient), apart from the
	// clients; absent before it first synced.
	Canary *ClientLagStatus `json:"canary,omitempty"`
}

// NodeStatus is one node's last heartbeat.
type NodeStatus struct {
	ID               string    `json:"id"`
	Leader           bool      `json:"leader"`
	Heartbeat        time.Time `json:"heartbeat"`
	HeartbeatAgeSecs float64   `json:"heartbeatAgeSeconds"`
	Version          string    `json:"version,omitempty"`
}

// ClientLagStatus is one client's replication state.
type ClientLagStatus struct {
	Name          string     `json:"name"`
	LastSync      *time.Time `json:"lastSync,omitempty"`
	LagSeconds    *float64   `json:"lagSeconds,omitempty"`
	LastFull      *time.Time `json:"lastFull,omitempty"`
	LastJob       string     `json:"lastJob,omitempty"` // status of the newest job
	LastError     string     `json:"lastError,omitempty"`
	OpenConflicts int64      `json:"openConflicts"`
}

// ReadStatus reads the cluster's state from the target. clients lists the
// clients expected (shown even before their first sync).
func ReadStatus(ctx context.Context, url, metaSchema string, clients []string) (*ClusterStatus, error) {
	m := pg.Masker(ctx, url)
	conn, err := pg.Connect(ctx, url, pg.Options{SimpleProtocol: true, AppName: "fleetctl-sync-status"})
	if err != nil {
		return nil, m.Error(err)
	}
	defer conn.Close(context.Background())
	st, err := readStatus(ctx, conn, pgx.Identifier{metaSchema}.Sanitize(), clients)
	return st, m.Error(err)
}

func readStatus(ctx context.Context, conn *pgx.Conn, meta string, clients []string) (*ClusterStatus, error) {
	st := &ClusterStatus{Nodes: []NodeStatus{}, Clients: []ClientLagStatus{}}
	var holder string
	var exp time.Time
	var live bool
	if err := conn.QueryRow(ctx, `SELECT holder, term, expires_at, expires_at > clock_timestamp() FROM `+meta+`.lease WHERE id = 1`).
		Scan(&holder, &st.Term, &exp, &live); err != nil {
		return nil, fmt.Errorf("sync status: %w (has a node run yet?)", err)
	}
	if live {
		st.Leader, st.LeaseExpires = holder, &exp
	}
	rows, err := conn.Query(ctx, `SELECT node_id, is_leader, heartbeat_at, heartbeat_age_seconds, version
		FROM `+meta+`.v_cluster_health ORDER BY node_id`)
	if err != nil {
		return nil, fmt.Errorf("sync status: %w", err)
	}
	for rows.Next() {
		var n NodeStatus
		if err := rows.Scan(&n.ID, &n.Leader, &n.Heartbeat, &n.HeartbeatAgeSecs, &n.Version); err != nil {
			rows.Close()
			return nil, err
		}
		st.Nodes = append(st.Nodes, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = conn.Query(ctx, `WITH names AS (SELECT unnest($1::text[]) AS client UNION SELECT client FROM `+meta+`.clients)
		SELECT n.client, c.last_sync_at, extract(epoch FROM clock_timestamp() - c.last_sync_at)::float8, c.last_full_at,
		  j.status, j.error,
		  (SELECT count(*) FROM `+meta+`.conflicts x WHERE x.client = n.client AND x.resolved_at IS NULL)
		FROM names n LEFT JOIN `+meta+`.clients c ON c.client = n.client
		LEFT JOIN LATERAL (SELECT status, error FROM `+meta+`.jobs WHERE client = n.client ORDER BY id DESC LIMIT 1) j ON true
		ORDER BY n.client`, clients)
	if err != nil {
		return nil, fmt.Errorf("sync status: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c ClientLagStatus
		var job, jerr *string
		if err := rows.Scan(&c.Name, &c.LastSync, &c.LagSeconds, &c.LastFull, &job, &jerr, &c.OpenConflicts); err != nil {
			return nil, err
		}
		if job != nil {
			c.LastJob = *job
		}
		if jerr != nil {
			c.LastError = *jerr
		}
		if c.Name == CanaryClient {
			st.Canary = &c
			continue
		}
		st.Clients = append(st.Clients, c)
	}
	return st, rows.Err()
}
