package plan

import (
	"fmt"
	"strings"

	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/observe"
	"github.com/quantabase/fleetctl/pkg/redact"
)

// Migration describes a migrate-database action: the ordered steps the
// executor runs (it runs exactly these, in this order, and the text shows
// exactly these) and the downtime they need. Row counts need I/O and the
// planner does none: `fleetctl db migrate CLIENT --dry-run` shows them
// (from a copy of the live database).
type Migration struct {
	From fleet.Backend `json:"from"`
	To   fleet.Backend `json:"to"`
	// Target is the PostgreSQL URL with its password masked.
	Target   string          `json:"target"`
	Volume   string          `json:"volume"`
	Steps    []MigrationStep `json:"steps"`
	Downtime string          `json:"downtime"`
	// OnFailure says what happens when a step fails.
	OnFailure string `json:"onFailure"`
	Note      string `json:"note,omitempty"`
	// Fleet names the backup directory (BACKUP_DIR/FLEET/CLIENT).
	Fleet string `json:"fleet"`
	// WantVector: vector: pgvector was asked for (preflight warns without it).
	WantVector bool `json:"wantVector,omitempty"`

	// TargetURL is the target with its password: for the executor only,
	// never in the JSON, never printed.
	TargetURL string `json:"-"`
}

// The steps of a migration, in the order the planner lists them.
const (
	StepPreflight = "preflight"
	StepStop      = "stop"
	StepBackup    = "backup"
	StepSchema    = "schema"
	StepCopy      = "copy"
	StepSwitch    = "switch"
	StepRecord    = "record"
)

// MigrationStep is one step: what the executor runs (Step) and what the
// plan says about it (Text).
type MigrationStep struct {
	Step string `json:"step"`
	Text string `json:"text"`
}

// ContainerBackend is the database backend a container was created with
// ("" when its config label is missing or unreadable).
func ContainerBackend(labels map[string]string) fleet.Backend {
	cfg := parseConfig(labels)
	if cfg == nil {
		return ""
	}
	return configBackend(cfg)
}

// configBackend is the backend a container was created for: PostgreSQL when
// its config has DATABASE_URL (fleetctl sets it only for backend: postgres,
// and env cannot set it), else SQLite in the data volume.
func configBackend(cfg *ContainerConfig) fleet.Backend {
	if _, ok := cfg.Env["DATABASE_URL"]; ok {
		return fleet.BackendPostgres
	}
	return fleet.BackendSQLite
}

// databaseConflict blocks a client whose database backend would change in a
// way fleetctl does not do: PostgreSQL back to SQLite (it never copies data
// out of PostgreSQL), or an adopted container of unknown backend moving to
// PostgreSQL.
func (b *builder) databaseConflict(c *fleet.Client, d *Desired, primary, prev *observe.Container, adopt bool) bool {
	want := configBackend(&d.Config)
	cur := primary
	if cur == nil {
		cur = prev
	}
	// Same hash, same inputs (backend included): no-op plans decode nothing.
	if cur == nil || cur.Labels[observe.LabelConfigHash] == d.Hash {
		return false
	}
	cfg := parseConfig(cur.Labels)
	if cfg == nil {
		if adopt && want == fleet.BackendPostgres {
			b.conflict(c.Name, d.Container.Name, "cannot tell which database container %s uses (it was not created by fleetctl): "+
				"adopt it with database.backend: sqlite first, then change the backend to postgres to migrate its data", d.Container.Name)
			return true
		}
		return false
	}
	if want == fleet.BackendPostgres && (prev != nil || primary == nil) && anyOnSQLite(primary, prev) {
		// An interrupted replacement is finished as a plain recreate, which
		// would switch to an empty database without copying anything.
		b.conflict(c.Name, d.Container.Name, "an interrupted replacement left %s%s while database.backend changes to postgres: "+
			"apply once with backend: sqlite to finish it, then change the backend to migrate the data",
			d.Container.Name, observe.PreviousSuffix)
		return true
	}
	if configBackend(cfg) == fleet.BackendSQLite && want == fleet.BackendPostgres {
		if why := unmovable(cfg, d); why != "" {
			b.conflict(c.Name, d.Container.Name, "database.backend changed: sqlite → postgres, but %s", why)
			return true
		}
	}
	if configBackend(cfg) == fleet.BackendPostgres && want == fleet.BackendSQLite {
		b.conflict(c.Name, d.Container.Name, "database.backend changed: postgres → sqlite, which fleetctl does not do: "+
			"it never copies data out of PostgreSQL, and everything written since the migration exists only there. "+
			"Keep backend: postgres, or return to the SQLite database as it was before the migration: "+
			"stop and remove container %s, copy the webui-backup-<timestamp>.db that the migration left in volume %s "+
			"(the same file is in the backup directory, BACKUP_DIR/%s/%s/) over webui.db in that volume, then apply",
			d.Container.Name, d.Volume.Name, b.spec.Fleet, c.Name)
		return true
	}
	return false
}

// unmovable says why a SQLite client's data cannot be migrated as
// configured ("" when it can): an encrypted SQLite (sqlcipher) fleetctl
// cannot read, or a DATABASE_SCHEMA other than public, which Open WebUI's
// migrations ignore (they create the tables on the search_path) while its
// ORM reads that schema: the data would land where the application does
// not look. The copy itself also refuses a file without SQLite's header.
func unmovable(cur *ContainerConfig, d *Desired) string {
	for _, cfg := range []map[string]string{cur.Env, d.Config.Env} {
		if strings.Contains(strings.ToLower(cfg["DATABASE_TYPE"]), "sqlcipher") {
			return "the client's SQLite database is encrypted (DATABASE_TYPE sqlite+sqlcipher), which fleetctl cannot read: " +
				"export it to a plain SQLite webui.db with the application first"
		}
	}
	if s := d.Config.Env["DATABASE_SCHEMA"]; s != "" && s != "public" {
		return fmt.Sprintf("env DATABASE_SCHEMA is %q: Open WebUI's own migrations ignore it and create the tables on the search_path "+
			"while the application reads schema %s, so a migration would put the data where the application does not look; "+
			"remove DATABASE_SCHEMA (fleetctl migrates into public)", s, s)
	}
	return ""
}

// anyOnSQLite reports whether any of the containers ran on SQLite.
func anyOnSQLite(cs ...*observe.Container) bool {
	for _, c := range cs {
		if c == nil {
			continue
		}
		if cfg := parseConfig(c.Labels); cfg != nil && configBackend(cfg) == fleet.BackendSQLite {
			return true
		}
	}
	return false
}

// migration turns the recreate of a client that runs on SQLite and should
// run on PostgreSQL into a migrate-database action. A new client on
// PostgreSQL is a plain create (there is nothing to move); an interrupted
// recreate (a parked container) is finished first as it is.
func (b *builder) migration(c *fleet.Client, d *Desired, primary, prev *observe.Container, act *Action) {
	if act.Kind != KindRecreateContainer || primary == nil || prev != nil || act.ExistingMatches {
		return
	}
	cfg := parseConfig(primary.Labels)
	if cfg == nil || configBackend(cfg) != fleet.BackendSQLite || configBackend(&d.Config) != fleet.BackendPostgres {
		return
	}
	target, targetURL := "", ""
	for _, e := range d.Container.Env {
		if e.Name == "DATABASE_URL" {
			target, targetURL = redact.URL(e.Value), e.Value
		}
	}
	name, vol := d.Container.Name, d.Volume.Name
	act.Kind = KindMigrateDatabase
	act.Causes = append([]string{"database.backend changed: sqlite → postgres"}, act.Causes...)
	act.Migration = &Migration{
		From: fleet.BackendSQLite, To: fleet.BackendPostgres, Target: target, Volume: vol, Fleet: b.spec.Fleet,
		WantVector: c.Database != nil && c.Database.Vector == fleet.VectorPGVector,
		TargetURL:  targetURL,
		Steps: []MigrationStep{
			{StepPreflight, "preflight, before any downtime: connect to " + target + ", server version, vector extension, the target must be empty or hold only the schema the application created; " +
				"on a copy of the running webui.db (with -wal/-shm/-journal): rows whose parent row is missing (refused unless --orphans=quarantine), rows that would collide on a unique key, names PostgreSQL would truncate, an encrypted file, the schema revision (refused otherwise)"},
			{StepStop, fmt.Sprintf("stop %s (SQLite has one writer), restart policy no while its data is copied", name)},
			{StepBackup, fmt.Sprintf("copy webui.db and its -wal/-shm/-journal out through the Docker API; PRAGMA integrity_check on the copy; keep it in the backup directory and as webui-backup-<timestamp>.db in volume %s (webui.db itself is never modified)", vol)},
			{StepSchema, "schema: run the client's image once against the empty database (a temporary container, health-gated, then removed) so the application creates its own schema; the rows it seeds are recorded in the backup directory's journal; tables it did not create are created from the SQLite schema with their keys, uniques and defaults"},
			{StepCopy, "copy, in one transaction: delete exactly the rows the schema step seeded; the schema revisions (alembic_version) must match; table by table, parents first, with COPY; coerce by the target column type and count every alteration; verify row counts and checksums"},
			{StepSwitch, fmt.Sprintf("switch: recreate %s with DATABASE_URL, health-gated", name)},
			{StepRecord, "record the migration in the volume and the backup directory"},
		},
		OnFailure: "the client is started again on SQLite with its untouched volume; target tables the copy filled are emptied again and the rows the schema step seeded deleted",
		Downtime:  "the client is down from the stop (step 2) until the new container passes its health check (step 6): the copy and two application starts",
		Note:      "row counts per table: fleetctl db migrate " + c.Name + " --dry-run",
	}
	if act.Migration.WantVector {
		act.Migration.Note += "; vector: pgvector: the Chroma vectors in " + fleet.DataDir + "/vector_db/ do not move: " +
			"after the switch, re-index the files (Admin Settings → Documents → Reindex Knowledge Base Vectors) so they are searchable again"
	}
}

func (t *textWriter) migration(m *Migration) {
	t.printf("      target: %s\n", m.Target)
	for i, s := range m.Steps {
		t.printf("      %d. %s\n", i+1, s.Text)
	}
	t.printf("      on failure: %s\n", m.OnFailure)
	t.printf("      downtime: %s\n", m.Downtime)
	if m.Note != "" {
		t.printf("      %s\n", m.Note)
	}
}

// sharedDatabases blocks every client whose PostgreSQL database (host, port,
// database name) is also another client's: two Open WebUI instances in one
// schema would read each other's users and chats, and a migration empties the
// target's tables before copying.
func (b *builder) sharedDatabases() map[string]bool {
	byDB := map[string][]string{}
	for i := range b.spec.Clients {
		c := &b.spec.Clients[i]
		if c.Database == nil || c.Database.Backend != fleet.BackendPostgres || !b.targeted(c.Name) {
			continue
		}
		if key := fleet.DatabaseKey(c.Database.ConnURL(b.secrets)); key != "" {
			byDB[key] = append(byDB[key], c.Name)
		}
	}
	blocked := map[string]bool{}
	for _, names := range byDB {
		if len(names) < 2 {
			continue
		}
		for _, n := range names {
			b.conflict(n, "", "clients %s use the same PostgreSQL database; each client needs its own (tenants must not share data)",
				strings.Join(names, ", "))
			blocked[n] = true
		}
	}
	return blocked
}
