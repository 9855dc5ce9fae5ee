package replicate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/quantabase/fleetctl/pkg/pg"
	"github.com/quantabase/fleetctl/pkg/redact"
	"github.com/quantabase/fleetctl/pkg/resource"
)

// CacheTTL bounds how long a node trusts what it cached (table shapes):
// PostgreSQL stays the authority for everything else, read every pass.
// It is the default and the largest Config.CacheTTL.
const CacheTTL = 5 * time.Minute

// Client is one SQLite database to mirror.
type Client struct {
	Name       string
	SQLitePath string
}

// Config is everything a node needs; the CLI builds it from fleet.yaml.
type Config struct {
	NodeID     string // stable across restarts: the node's name
	URL        string // target; holds a password
	MetaSchema string // default sync_metadata, or NS_sync_metadata with a Namespace
	Clients    []Client
	Interval   time.Duration // incremental pass, default 1s
	FullEvery  time.Duration // key comparison (deletes, tables without updated_at), default 30s
	Lease      time.Duration // default 8s
	Renew      time.Duration // default 2s
	Strategy   Strategy
	// TableStrategies override Strategy per table name.
	TableStrategies map[string]Strategy
	BusyTimeout     time.Duration // SQLite busy timeout, default 5s
	Listen          string        // HTTP address; "" for none
	AdminToken      string        // bearer token of /api/v1/; empty disables the admin API
	Version         string
	Logger          *slog.Logger

	// Namespace sets this fleet's schemas apart on a target shared with
	// other fleets: client schemas NS_client_NAME ("" keeps client_NAME).
	Namespace string
	// Canary is the path of the certification canary's SQLite database
	// (canary.go); "" for none.
	Canary string
	// CacheTTL is how long table shapes are cached (default and at most
	// CacheTTL).
	CacheTTL time.Duration
}

func (c *Config) defaults() {
	if c.MetaSchema == "" {
		c.MetaSchema = resource.SyncMetaSchema(c.Namespace)
	}
	if c.Interval <= 0 {
		c.Interval = time.Second
	}
	if c.FullEvery <= 0 {
		c.FullEvery = 30 * time.Second
	}
	if c.Strategy == "" {
		c.Strategy = SourceWins
	}
	if c.BusyTimeout <= 0 {
		c.BusyTimeout = 5 * time.Second
	}
	if c.CacheTTL <= 0 || c.CacheTTL > CacheTTL {
		c.CacheTTL = CacheTTL
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// ClientStatus is a client's replication state as this node knows it.
type ClientStatus struct {
	Name        string     `json:"name"`
	LastSync    *time.Time `json:"lastSync,omitempty"` // start of the last complete pass
	LagSeconds  float64    `json:"lagSeconds"`         // now - LastSync: every change older is in PostgreSQL
	LastError   string     `json:"lastError,omitempty"`
	RowsWritten int64      `json:"rowsWritten"`
	// ShapesAgeSeconds is the age of the cached table shapes (absent when
	// none are cached): at most the node's cache TTL.
	ShapesAgeSeconds *float64 `json:"shapesAgeSeconds,omitempty"`
}

// Node is one sync node.
type Node struct {
	cfg     Config
	db      *pgxpool.Pool
	meta    string // quoted
	leases  leaseStore
	started time.Time
	m       *metrics
	masker  *redact.Masker
	trigger chan struct{}
	// The canary (nil without Config.Canary): its state is also in
	// clients, under CanaryClient.
	canary    *clientState
	canaryDB  *sql.DB // read-write, for the canary operations
	canaryOps chan canaryReq

	mu       sync.Mutex
	el       *Election
	clients  map[string]*clientState
	lastFull time.Time
	// sweptTerm is the term whose leader closed the jobs older terms left running.
	sweptTerm int64
}

type clientState struct {
	Client
	schema   string // target schema
	canary   bool
	db       *sql.DB
	shapes   []*shape
	shapesAt time.Time
	lastSync time.Time
	lastErr  string
	written  int64
}

// NewNode connects to the target and creates the metadata schema.
func NewNode(ctx context.Context, cfg Config) (*Node, error) {
	cfg.defaults()
	if cfg.NodeID == "" {
		return nil, errors.New("node id is required")
	}
	// PostgreSQL would truncate a longer name, perhaps into another fleet's.
	schemas := append([]string{cfg.MetaSchema}, mapClients(cfg.Namespace, clientNames(cfg.Clients))...)
	if cfg.Canary != "" {
		schemas = append(schemas, CanarySchema(cfg.MetaSchema))
	}
	for _, s := range schemas {
		if !roleName.MatchString(s) {
			return nil, fmt.Errorf("schema %q: not a plain identifier of at most 63 bytes", s)
		}
	}
	masker := pg.Masker(ctx, cfg.URL).With(cfg.AdminToken)
	db, err := pg.Pool(ctx, cfg.URL, pg.Options{SimpleProtocol: true, AppName: "fleetctl-sync-" + cfg.NodeID}, 4)
	if err != nil {
		return nil, err
	}
	if err := EnsureMeta(ctx, db, cfg.MetaSchema); err != nil {
		db.Close()
		return nil, masker.Error(err)
	}
	n := &Node{cfg: cfg, db: db, meta: pgx.Identifier{cfg.MetaSchema}.Sanitize(), started: time.Now(),
		masker: masker, trigger: make(chan struct{}, 1), clients: map[string]*clientState{}, canaryOps: make(chan canaryReq),
		el: NewElection(cfg.NodeID, cfg.Lease, cfg.Renew)}
	n.leases = leaseStore{db: db, schema: n.meta}
	n.m = newMetrics(n)
	for _, c := range cfg.Clients {
		n.clients[c.Name] = &clientState{Client: c, schema: NamespacedClientSchema(cfg.Namespace, c.Name)}
	}
	if cfg.Canary != "" {
		if err := n.openCanary(ctx); err != nil {
			db.Close()
			return nil, err
		}
	}
	return n, nil
}

func clientNames(cs []Client) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Name
	}
	return out
}

// Close releases the lease if held and closes everything.
func (n *Node) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	n.mu.Lock()
	tok, ok := n.el.Token(time.Now())
	n.el.Released()
	n.mu.Unlock()
	if ok {
		if err := n.leases.release(ctx, tok); err != nil {
			n.cfg.Logger.Warn("release lease", "err", n.masker.String(err.Error()))
		}
	}
	n.heartbeat(ctx)
	for _, c := range n.clients {
		if c.db != nil {
			c.db.Close()
		}
	}
	if n.canaryDB != nil {
		n.canaryDB.Close()
	}
	n.db.Close()
}

// Run elects and, while leading, replicates, until ctx ends; then it
// releases the lease (a clean stop hands over at once).
func (n *Node) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); n.electLoop(ctx) }()
	n.syncLoop(ctx)
	wg.Wait()
	return nil
}

func (n *Node) electLoop(ctx context.Context) {
	for {
		n.ElectOnce(ctx)
		n.mu.Lock()
		wait := time.Until(n.el.Next())
		n.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-time.After(max(wait, 10*time.Millisecond)):
		}
	}
}

// ElectOnce runs one acquire-or-renew attempt and a heartbeat.
func (n *Node) ElectOnce(ctx context.Context) Event {
	n.mu.Lock()
	wasLeader := n.el.Role(time.Now()) == Leader
	prevHolder := n.el.Holder()
	n.mu.Unlock()
	if !wasLeader {
		n.m.electionAttempts.Inc()
	}
	a := n.leases.acquire(ctx, n.cfg.NodeID, n.elLease(), time.Now)
	n.mu.Lock()
	ev := n.el.Observe(a)
	term, until := n.el.Term(), n.el.ValidUntil()
	n.mu.Unlock()
	switch ev {
	case BecameLeader, SteppedDown:
		// A new term trusts no shape cached in an earlier one (another
		// leader may have changed the target meanwhile), and a follower
		// keeps none.
		n.mu.Lock()
		for _, c := range n.clients {
			c.shapes = nil
		}
		n.mu.Unlock()
	}
	switch ev {
	case BecameLeader:
		n.m.electionSuccesses.Inc()
		if prevHolder != "" && prevHolder != n.cfg.NodeID {
			n.m.failovers.Inc()
		}
		n.cfg.Logger.Info("became leader", "term", term)
		n.Trigger()
	case SteppedDown:
		n.cfg.Logger.Warn("stepped down", "term", term)
	}
	if a.Err != nil {
		n.m.heartbeatFailures.Inc()
		n.cfg.Logger.Warn("lease attempt failed", "err", n.masker.String(a.Err.Error()))
	}
	if ev == BecameLeader || ev == Renewed {
		n.m.leaseExpires.Set(float64(time.Now().Add(time.Until(until)).Unix()))
	}
	n.heartbeat(ctx)
	return ev
}

func (n *Node) elLease() time.Duration {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.el.Lease
}

func (n *Node) heartbeat(ctx context.Context) {
	role, term := n.Role()
	_, err := n.db.Exec(ctx, `INSERT INTO `+n.meta+`.nodes (node_id, started_at, heartbeat_at, role, term, version)
		VALUES ($1, $2, clock_timestamp(), $3, $4, $5) ON CONFLICT (node_id) DO UPDATE
		SET started_at = EXCLUDED.started_at, heartbeat_at = EXCLUDED.heartbeat_at, role = EXCLUDED.role,
		    term = EXCLUDED.term, version = EXCLUDED.version`,
		n.cfg.NodeID, n.started.UTC(), string(role), term, n.cfg.Version)
	if err != nil && ctx.Err() == nil {
		n.m.heartbeatFailures.Inc()
		n.cfg.Logger.Warn("heartbeat failed", "err", n.masker.String(err.Error()))
	}
}

// Role is the node's role and term now.
func (n *Node) Role() (Role, int64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.el.Role(time.Now()), n.el.Term()
}

// Token is the fencing token while leading.
func (n *Node) Token() (Token, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.el.Token(time.Now())
}

// Trigger asks for a pass now (admin API, new leadership).
func (n *Node) Trigger() {
	select {
	case n.trigger <- struct{}{}:
	default:
	}
}

func (n *Node) syncLoop(ctx context.Context) {
	t := time.NewTicker(n.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-n.trigger:
		case r := <-n.canaryOps:
			r.done <- n.canaryOp(ctx, r.op)
			continue
		}
		tok, ok := n.Token()
		if !ok {
			continue
		}
		full := time.Since(n.lastFull) >= n.cfg.FullEvery
		if err := n.SyncOnce(ctx, tok, full); err == nil && full {
			n.lastFull = time.Now()
		}
	}
}

// SyncOnce runs one pass over every client with the given token: each table
// in its own fenced transaction. full adds the key comparison.
func (n *Node) SyncOnce(ctx context.Context, tok Token, full bool) error {
	var errs []error
	states := make([]*clientState, 0, len(n.cfg.Clients)+1)
	for _, c := range n.cfg.Clients {
		states = append(states, n.clients[c.Name])
	}
	if n.canary != nil {
		states = append(states, n.canary)
	}
	for _, c := range states {
		if err := n.syncClient(ctx, tok, c, full); err != nil {
			if c.canary && !errors.Is(err, ErrFenced) {
				// Its job records it; the clients' passes (and when the
				// next full one is due) do not depend on it.
				n.cfg.Logger.Warn("canary pass failed", "err", n.masker.String(err.Error()))
				continue
			}
			errs = append(errs, fmt.Errorf("client %s: %w", c.Name, err))
			if errors.Is(err, ErrFenced) {
				break
			}
		}
	}
	return n.masker.Error(errors.Join(errs...))
}

func (n *Node) strategyFor(c *clientState, table string) Strategy {
	if c.canary {
		return canaryStrategy(table)
	}
	if s, ok := n.cfg.TableStrategies[table]; ok {
		return s
	}
	return n.cfg.Strategy
}
