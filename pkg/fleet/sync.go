package fleet

import (
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/quantabase/fleetctl/pkg/resource"
)

// Sync configures the HA sync service (pkg/replicate): two or more node
// containers of fleetctl's own image that mirror the SQLite clients'
// databases into one PostgreSQL target, one schema per client
// (client_<name>), with one leader elected through PostgreSQL.
type Sync struct {
	// Target is the PostgreSQL database, as a URL reference or a Supabase
	// project. Its user must be able to create a role and schemas: plan/apply
	// creates the metadata schema and the nodes' restricted role with it.
	Target SyncTarget `yaml:"target" json:"target"`
	// Clients to replicate (default: every client on SQLite).
	Clients []string `yaml:"clients,omitempty" json:"clients,omitempty"`
	// Interval between incremental passes (default 1s); FullInterval between
	// key comparisons (deletes, tables without updated_at; default 30s).
	Interval     Duration `yaml:"interval,omitempty" json:"interval,omitempty"`
	FullInterval Duration `yaml:"fullInterval,omitempty" json:"fullInterval,omitempty"`
	// Lease and Renew time the election (defaults 8s and 2s).
	Lease Duration `yaml:"lease,omitempty" json:"lease,omitempty"`
	Renew Duration `yaml:"renew,omitempty" json:"renew,omitempty"`
	// Conflicts: the fleet's strategy and per-table overrides.
	Conflicts *SyncConflicts `yaml:"conflicts,omitempty" json:"conflicts,omitempty"`
	// AdminToken is the bearer token of the nodes' /api/v1/ (a secret
	// reference); without it the admin API is off.
	AdminToken SecretRef `yaml:"adminToken,omitempty" json:"adminToken,omitempty"`
	// Nodes are the node containers (default openwebui-sync-node-a on 9443
	// and openwebui-sync-node-b on 9444).
	Nodes []SyncNode `yaml:"nodes,omitempty" json:"nodes,omitempty"`
	// BindAddress is where node ports are published (default 127.0.0.1).
	BindAddress string `yaml:"bindAddress,omitempty" json:"bindAddress,omitempty"`
	// Namespace sets the fleet's schemas apart on a target that other
	// fleets share: NS_sync_metadata and NS_client_NAME instead of
	// sync_metadata and client_NAME (unset: those, the old system's names).
	Namespace string `yaml:"namespace,omitempty" json:"namespace,omitempty"`
	// Host is, on a fleet with hosts, the host the nodes run on (a name in
	// hosts). They mount every synced client's volume, so every synced
	// client must run there. Default: the host all synced clients are
	// placed on (pkg/plan placement.go).
	Host string `yaml:"host,omitempty" json:"host,omitempty"`
	// CacheTTL bounds how long a node caches table shapes (default and at
	// most 5m): a column the application adds reaches the target within it.
	CacheTTL Duration `yaml:"cacheTTL,omitempty" json:"cacheTTL,omitempty"`
}

// SyncTarget is the replication target: url or supabase.
type SyncTarget struct {
	URL      SecretRef `yaml:"url,omitempty" json:"url,omitempty"`
	Supabase *Supabase `yaml:"supabase,omitempty" json:"supabase,omitempty"`
}

// SyncConflicts chooses who wins a conflict.
type SyncConflicts struct {
	Strategy string            `yaml:"strategy,omitempty" json:"strategy,omitempty"`
	Tables   map[string]string `yaml:"tables,omitempty" json:"tables,omitempty"`
}

// SyncNode is one node container.
type SyncNode struct {
	Name string `yaml:"name" json:"name"`
	Port int    `yaml:"port" json:"port"`
}

// Sync defaults.
const (
	DefaultSyncInterval     = time.Second
	DefaultSyncFullInterval = 30 * time.Second
	DefaultSyncLease        = 8 * time.Second
	DefaultSyncRenew        = 2 * time.Second
	DefaultSyncStrategy     = "source_wins"
)

// SyncStrategies are the conflict strategies (pkg/replicate implements them).
var SyncStrategies = []string{"source_wins", "target_wins", "newest_wins", "oldest_wins", "manual"}

// DefaultSyncNodes are the old system's two containers and ports.
func DefaultSyncNodes() []SyncNode {
	return []SyncNode{{Name: "openwebui-sync-node-a", Port: 9443}, {Name: "openwebui-sync-node-b", Port: 9444}}
}

// NodeList is the nodes with the default filled in.
func (s *Sync) NodeList() []SyncNode {
	if len(s.Nodes) == 0 {
		return DefaultSyncNodes()
	}
	return s.Nodes
}

// Timings returns interval, full interval, lease and renew with defaults.
func (s *Sync) Timings() (interval, full, lease, renew time.Duration) {
	pick := func(d Duration, def time.Duration) time.Duration {
		if d > 0 {
			return d.Std()
		}
		return def
	}
	return pick(s.Interval, DefaultSyncInterval), pick(s.FullInterval, DefaultSyncFullInterval),
		pick(s.Lease, DefaultSyncLease), pick(s.Renew, DefaultSyncRenew)
}

// Strategy is the fleet's strategy (default source_wins) and the per-table ones.
func (s *Sync) Strategy() (string, map[string]string) {
	if s.Conflicts == nil {
		return DefaultSyncStrategy, nil
	}
	def := s.Conflicts.Strategy
	if def == "" {
		def = DefaultSyncStrategy
	}
	return def, s.Conflicts.Tables
}

// DefaultSyncCacheTTL is the nodes' table-shape cache TTL, and its largest value.
const DefaultSyncCacheTTL = 5 * time.Minute

// SyncCanaryVolume is the certification canary's volume (a SQLite database
// the nodes replicate for fleetctl certify's drills, never a client's).
func SyncCanaryVolume(fleet string) string { return fleet + "-sync-canary" }

// SyncBindAddress is where node ports are published.
func (s *Sync) SyncBindAddress() string {
	if s.BindAddress == "" {
		return DefaultBindAddress
	}
	return s.BindAddress
}

// SyncedClients are the clients the sync replicates: those listed, or every
// client on SQLite.
func (s *Spec) SyncedClients() []*Client {
	if s.Sync == nil {
		return nil
	}
	var out []*Client
	for i := range s.Clients {
		c := &s.Clients[i]
		if len(s.Sync.Clients) == 0 {
			if c.Database == nil || c.Database.Backend == "" || c.Database.Backend == BackendSQLite {
				out = append(out, c)
			}
			continue
		}
		for _, n := range s.Sync.Clients {
			if n == c.Name {
				out = append(out, c)
			}
		}
	}
	return out
}

// TargetURL is the target's URL with secrets resolved.
func (t SyncTarget) TargetURL(secrets Secrets) string {
	if s := t.Supabase; s != nil {
		return SupabaseURL(s.ProjectRef, s.Region, secrets.Value(s.Password), s.Mode)
	}
	return secrets.Value(t.URL)
}

// SyncRoleName is the nodes' restricted PostgreSQL role of a fleet with
// sync.namespace ns: fleetctl_sync_FLEET without one (the name fleets had
// before namespaces: an existing deployment keeps its role), and
// NS_fleetctl_sync_FLEET with one. Roles are the cluster's, not a
// database's: two fleets of one name on a shared target differ by their
// namespace. A namespace has no '_', so its role's first part names it, as
// it does its schemas (pkg/resource): no namespace can produce another's
// role or that of a fleet without one (those start with "fleetctl_", the
// namespaced ones' second part is "fleetctl").
func SyncRoleName(fleet, ns string) string {
	r := "fleetctl_sync_" + strings.ReplaceAll(fleet, "-", "_")
	if ns != "" {
		r = ns + "_" + r
	}
	return r
}

// SyncMetaSchema is the metadata schema of a fleet without sync.namespace.
// Several fleets on one database set theirs apart with sync.namespace
// (Sync.MetaSchema).
const SyncMetaSchema = resource.SyncMetaSchemaBase

// MetaSchema is the fleet's metadata schema in the target.
func (s *Sync) MetaSchema() string { return resource.SyncMetaSchema(s.Namespace) }

// ClientSchema is a client's schema in the target.
func (s *Sync) ClientSchema(client string) string {
	return resource.SyncClientSchema(s.Namespace, client)
}

var syncNamespace = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-z0-9]*$`) })

// syncNames checks the PostgreSQL names the sync derives from the spec:
// each at most 63 bytes (PostgreSQL would truncate a longer one, perhaps
// into another fleet's), and a namespace that cannot produce another's.
func (v validator) syncNames(path string, s *Sync, spec *Spec) {
	ns := s.Namespace
	nsPath := path + ".namespace"
	if role := SyncRoleName(spec.Fleet, ""); len(role) > resource.MaxIdentifier && v.set("fleet") {
		v.errf("fleet", "with sync:, the nodes' role %s would be %d bytes, over PostgreSQL's %d: a fleet with sync: has a name of at most %d characters",
			role, len(role), resource.MaxIdentifier, resource.MaxIdentifier-len(SyncRoleName("", "")))
	} else if role := SyncRoleName(spec.Fleet, ns); len(role) > resource.MaxIdentifier && ns != "" && v.set(nsPath) {
		v.errf(nsPath, "too long for this fleet's name: the nodes' role %s would be %d bytes, over PostgreSQL's %d (namespace and fleet name together have at most %d characters)",
			role, len(role), resource.MaxIdentifier, resource.MaxIdentifier-len(SyncRoleName("", "x"))+1)
	}
	if ns != "" && v.set(nsPath) {
		switch {
		case !syncNamespace().MatchString(ns):
			v.errf(nsPath, "must be lower-case letters and digits, starting with a letter (no '-' or '_': the part of a schema name before its first '_' is its fleet's namespace)")
			return
		case ns == "client":
			v.errf(nsPath, "%s would name schemas like a fleet without a namespace (client_NAME): choose another", quote(ns))
			return
		case len(s.MetaSchema()) > resource.MaxIdentifier:
			v.errf(nsPath, "too long: the metadata schema %s would be %d bytes, over PostgreSQL's %d", s.MetaSchema(), len(s.MetaSchema()), resource.MaxIdentifier)
			return
		case len(resource.SyncCanarySchema(ns)) > resource.MaxIdentifier:
			v.errf(nsPath, "too long: the certification canary's schema %s would be %d bytes, over PostgreSQL's %d",
				resource.SyncCanarySchema(ns), len(resource.SyncCanarySchema(ns)), resource.MaxIdentifier)
			return
		}
	}
	for _, c := range spec.SyncedClients() {
		schema := s.ClientSchema(c.Name)
		if len(schema) <= resource.MaxIdentifier {
			continue
		}
		if ns != "" {
			v.errf(nsPath, "too long for client %s: its schema %s would be %d bytes, over PostgreSQL's %d", quote(c.Name), schema, len(schema), resource.MaxIdentifier)
			return
		}
		for i := range spec.Clients {
			if p := joinIndex("clients", i) + ".name"; spec.Clients[i].Name == c.Name && v.set(p) {
				v.errf(p, "too long for the sync: its schema %s would be %d bytes, over PostgreSQL's %d", schema, len(schema), resource.MaxIdentifier)
			}
		}
	}
}

var tableName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`) })

func (v validator) sync(path string, s *Sync, spec *Spec) {
	if s == nil {
		return
	}
	hasURL, hasSupa := !s.Target.URL.IsZero(), s.Target.Supabase != nil
	switch {
	case hasURL && hasSupa:
		v.errf(path+".target.supabase", "set either url or supabase, not both")
	case !hasURL && !hasSupa && v.set(path+".target"):
		v.errf(path+".target", "set url (a secret reference) or supabase")
	}
	byName := map[string]*Client{}
	ports := map[int]string{}
	for i := range spec.Clients {
		byName[spec.Clients[i].Name] = &spec.Clients[i]
		ports[spec.Clients[i].Port] = spec.Clients[i].Name
	}
	for i, n := range s.Clients {
		p := joinIndex(path+".clients", i)
		c, ok := byName[n]
		switch {
		case !ok:
			v.errf(p, "no client named %s in clients", quote(n))
		case c.Database != nil && c.Database.Backend == BackendPostgres:
			v.errf(p, "client %s is on PostgreSQL already: only SQLite clients are replicated", quote(n))
		}
	}
	if s.Conflicts != nil {
		if st := s.Conflicts.Strategy; st != "" && !strategyOK(st) {
			v.errf(path+".conflicts.strategy", "unknown strategy %s (want one of %s)", quote(st), strings.Join(SyncStrategies, ", "))
		}
		for t, st := range s.Conflicts.Tables {
			tp := path + ".conflicts.tables." + t
			if !tableName().MatchString(t) {
				v.errf(tp, "not a table name (lower-case letters, digits and '_')")
			}
			if !strategyOK(st) {
				v.errf(tp, "unknown strategy %s (want one of %s)", quote(st), strings.Join(SyncStrategies, ", "))
			}
		}
	}
	interval, full, lease, renew := s.Timings()
	if interval < 100*time.Millisecond || interval > time.Hour {
		v.errf(path+".interval", "must be between 100ms and 1h")
	}
	if full < interval {
		v.errf(path+".fullInterval", "must not be shorter than interval (%s)", shortDuration(interval))
	}
	if lease < time.Second || lease > 10*time.Minute {
		v.errf(path+".lease", "must be between 1s and 10m")
	} else if renew*2 > lease {
		v.errf(path+".renew", "must be at most half the lease (%s): a leader renews at least twice per lease", shortDuration(lease))
	}
	if ttl := s.CacheTTL.Std(); ttl != 0 && (ttl < time.Second || ttl > DefaultSyncCacheTTL) {
		v.errf(path+".cacheTTL", "must be between 1s and 5m")
	}
	names := map[string]bool{}
	for i, n := range s.Nodes {
		p := joinIndex(path+".nodes", i)
		if names[n.Name] {
			v.errf(p+".name", "duplicate node name %s", quote(n.Name))
		}
		names[n.Name] = true
		if n.Name != "" && !dockerName().MatchString(n.Name) {
			v.errf(p+".name", "not a container name")
		}
		if c, dup := ports[n.Port]; dup && n.Port != 0 {
			v.errf(p+".port", "port %d is already used by %s", n.Port, quote(c))
		}
		ports[n.Port] = n.Name
	}
	if s.BindAddress != "" {
		v.bindAddress(path+".bindAddress", s.BindAddress)
	}
	v.syncNames(path, s, spec)
	v.syncHost(path, s, spec)
}

// syncHost checks sync.host: a host of hosts, and no synced client pinned
// to another one (the nodes could not mount its volume). Unpinned clients
// are checked by the planner, once they are placed.
func (v validator) syncHost(path string, s *Sync, spec *Spec) {
	if s.Host == "" || !v.set(path+".host") {
		return
	}
	if spec.Host(s.Host) == nil {
		v.errf(path+".host", "%s", unknownHost(s.Host, spec.Hosts))
		return
	}
	for _, c := range spec.SyncedClients() {
		if c.Host == "" || c.Host == s.Host {
			continue
		}
		for i := range spec.Clients {
			if p := joinIndex("clients", i) + ".host"; spec.Clients[i].Name == c.Name && v.set(p) {
				v.errf(p, "client %s is synced, and the sync nodes run on host %s (sync.host), which must hold its volume: pin it to %s, or leave it out of sync.clients",
					quote(c.Name), s.Host, s.Host)
			}
		}
	}
}

func strategyOK(s string) bool {
	for _, x := range SyncStrategies {
		if x == s {
			return true
		}
	}
	return false
}
