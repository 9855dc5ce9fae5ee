package watch

import (
	"sort"
	"sync"
	"time"
)

// recentReconciles is how many passes the status page keeps.
const recentReconciles = 20

// Status is what the daemon knows, for the status page and /readyz. It is a
// copy: the page renders it without holding any lock.
type Status struct {
	Fleet     string
	SpecPath  string
	SpecValid bool
	// SpecErrors are the problems of the file on disk when it is invalid
	// (the daemon keeps running on the last valid spec).
	SpecErrors []string
	// SpecLoaded is when the spec in use was loaded.
	SpecLoaded  time.Time
	DockerOK    bool
	DockerError string
	LastSuccess time.Time
	Started     time.Time
	Now         time.Time
	Clients     []ClientStatus
	// Reconciles are the recent passes, newest first.
	Reconciles []ReconcileRecord
	// SyncLeader is the HA sync cluster's leader; nil until a sync cluster is
	// configured (pkg/replicate fills it when it exists).
	SyncLeader *SyncLeader
	Version    string
}

// ClientStatus is one client as last observed.
type ClientStatus struct {
	Name      string
	Container string
	State     string // running, exited, ..., absent, "crash-looping (N restarts)"
	Health    string // healthy, unhealthy (DETAIL), "-" when not probed
	// Gate is the endpoint the client is gated on (/ready or /health).
	Gate     string
	Restarts int
	// Down: the client should run and is not up (plan.DownOf).
	Down     bool
	Port     int
	Domain   string
	Image    string
	Database string
	// LastChange is when the daemon last acted on the client, and what it did.
	LastChange     time.Time
	LastChangeWhat string
	LastError      string
	LastErrorAt    time.Time
	// BackoffUntil is set while the client is left out of passes.
	BackoffUntil time.Time
	Failures     int
	// LastBackup is the client's last scheduled backup (zero: none yet).
	LastBackup BackupRecord
}

// ReconcileRecord is one pass.
type ReconcileRecord struct {
	Start    time.Time
	Duration time.Duration
	Trigger  string
	Result   string // success, failure, invalid-spec, locked, error
	Actions  int
	Failed   int
	Excluded []string
	Message  string
}

// SyncLeader names the leader of the sync cluster.
type SyncLeader struct {
	Node  string
	Since time.Time
}

// statusStore guards the daemon's Status.
type statusStore struct {
	mu sync.Mutex
	s  Status
	// ring of passes, newest at the end.
	recent []ReconcileRecord
	// backups are the scheduled backups by client (backups.go).
	backups map[string]BackupRecord
}

func (st *statusStore) update(f func(s *Status)) {
	st.mu.Lock()
	defer st.mu.Unlock()
	f(&st.s)
}

func (st *statusStore) record(r ReconcileRecord) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.recent = append(st.recent, r)
	if len(st.recent) > recentReconciles {
		st.recent = append(st.recent[:0], st.recent[len(st.recent)-recentReconciles:]...)
	}
}

// snapshot returns a deep enough copy to render without the lock.
func (st *statusStore) snapshot(now time.Time) Status {
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.s
	s.Now = now
	s.SpecErrors = append([]string(nil), st.s.SpecErrors...)
	s.Clients = append([]ClientStatus(nil), st.s.Clients...)
	for i := range s.Clients {
		s.Clients[i].LastBackup = st.backups[s.Clients[i].Name]
	}
	sort.Slice(s.Clients, func(i, j int) bool { return s.Clients[i].Name < s.Clients[j].Name })
	s.Reconciles = make([]ReconcileRecord, 0, len(st.recent))
	for i := len(st.recent) - 1; i >= 0; i-- {
		s.Reconciles = append(s.Reconciles, st.recent[i])
	}
	return s
}
