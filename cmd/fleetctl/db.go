package main

import (
	"bytes"
	"context"
	"encoding/json"

	"fmt"
	"io"

	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/quantabase/fleetctl/pkg/apply"
	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/migrate"
	"github.com/quantabase/fleetctl/pkg/observe"
	"github.com/quantabase/fleetctl/pkg/pg"
	"github.com/quantabase/fleetctl/pkg/plan"
	"github.com/quantabase/fleetctl/pkg/reconcile"
	"github.com/quantabase/fleetctl/pkg/redact"
)

// migrateFlags are apply's flags for migrate-database actions.
type migrateFlags struct {
	backupDir *string
	force     *bool
	orphans   *string
}

func registerMigrateFlags(c *cobra.Command) *migrateFlags {
	f := &migrateFlags{backupDir: new(string), force: new(bool), orphans: new(string)}
	backupDirFlag(c, f.backupDir, apply.DefaultBackupRoot())
	c.Flags().BoolVar(f.force, "force", false, "let a migration write into PostgreSQL tables that already hold rows (they are emptied first)")
	orphansFlag(c, f.orphans)
	return f
}

// orphansFlag is --orphans: what a migration does with rows whose parent
// row is missing.
func orphansFlag(c *cobra.Command, v *string) {
	c.Flags().StringVar(v, "orphans", migrate.OrphansRefuse, "rows whose parent row is missing (SQLite never enforced the foreign keys): `MODE` is "+
		"refuse (the preflight fails, listing them) or quarantine (copy them into orphans-<timestamp>.db in the backup directory, counted)")
}

func validOrphans(v string) error {
	if v != migrate.OrphansRefuse && v != migrate.OrphansQuarantine {
		return fmt.Errorf("--orphans must be %s or %s, not %q", migrate.OrphansRefuse, migrate.OrphansQuarantine, v)
	}
	return nil
}

func (f *migrateFlags) options(out io.Writer) apply.MigrationOptions {
	return apply.MigrationOptions{
		BackupDir: *f.backupDir, Force: *f.force, Orphans: *f.orphans,
		Log:       func(a *plan.Action, line string) { fmt.Fprintf(out, "  | %s: %s\n", a.Object, line) },
		AfterStep: reconcile.TestPause(func(line string) { fmt.Fprintf(out, "  | %s\n", line) }),
	}
}

func dbCmd(env *cliEnv) *cobra.Command {
	c := group(env, &cobra.Command{
		Use:   "db",
		Short: "a client's database: show it, or dry-run its migration to PostgreSQL",
	})
	c.AddCommand(dbShowCmd(env), dbMigrateCmd(env))
	return c
}

// dbShow is `db show --json`.
type dbShow struct {
	Client    string           `json:"client"`
	Backend   string           `json:"backend"`
	Container string           `json:"container"`
	Running   string           `json:"runningBackend,omitempty"` // the backend the container was created with
	Postgres  *pg.Info         `json:"postgres,omitempty"`
	Vector    string           `json:"vector,omitempty"`
	Migration *json.RawMessage `json:"lastMigration,omitempty"`
	Source    string           `json:"lastMigrationSource,omitempty"`
	// NeedsSecrets: the connection's references that are not set (then
	// postgres is absent: without them nothing about it can be known).
	NeedsSecrets []fleet.SecretRef `json:"needsSecrets,omitempty"`
}

func dbShowCmd(env *cliEnv) *cobra.Command {
	var file, backupDir string
	var asJSON bool
	c := &cobra.Command{
		Use:               "show CLIENT",
		Short:             "a client's database: backend, connection (password masked), reachability, last migration",
		Args:              oneArg("a client name"),
		ValidArgsFunction: completeClients,
		RunE: func(c *cobra.Command, args []string) error {
			return status(runDBShow(c.Context(), env, args[0], file, backupDir, asJSON))
		},
	}
	fileFlag(c, &file)
	jsonFlag(c, &asJSON)
	backupDirFlag(c, &backupDir, apply.DefaultBackupRoot())
	return c
}

func runDBShow(ctx context.Context, env *cliEnv, client, file, backupDir string, asJSON bool) int {
	s, c, ok := openClient(ctx, env, file, client, true) // read only: a SQLite client needs no secret
	if !ok {
		return exitError
	}
	defer s.close()
	ctx = redact.NewContext(ctx, s.secrets.Masker()) // PostgreSQL and Docker errors are masked
	out := dbShow{Client: c.Name, Backend: string(fleet.BackendSQLite), Container: s.spec.ContainerName(c)}
	if c.Database != nil && c.Database.Backend != "" {
		out.Backend = string(c.Database.Backend)
		out.Vector = c.Database.Vector
	}
	st, err := s.cli.Observe(ctx, s.spec.Fleet, []string{s.spec.VolumeName(c)}, nil)
	if err != nil {
		fmt.Fprintf(env.stderr, "Error: %v\n", err)
		return exitError
	}
	if ctr := findContainer(st, out.Container); ctr != nil {
		out.Running = string(plan.ContainerBackend(ctr.Labels))
	}
	for _, r := range c.DatabaseRefs() {
		if _, ok := s.secrets[r]; !ok {
			out.NeedsSecrets = append(out.NeedsSecrets, r)
		}
	}
	if u := c.Database.ConnURL(s.secrets); u != "" && len(out.NeedsSecrets) == 0 {
		tctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		in := pg.Describe(tctx, u, pg.Options{AppName: "fleetctl-db-show"})
		cancel()
		out.Postgres = &in
	}
	if raw, src := lastMigration(ctx, s, out.Container, apply.BackupDirFor(backupDir, s.spec.Fleet, c.Name)); raw != nil {
		m := json.RawMessage(raw)
		out.Migration, out.Source = &m, src
	}
	if asJSON {
		return writeJSON(env, out)
	}
	w := env.stdout
	fmt.Fprintf(w, "client:     %s (container %s)\n", out.Client, out.Container)
	fmt.Fprintf(w, "backend:    %s (fleet.yaml)", out.Backend)
	if out.Running != "" && out.Running != out.Backend {
		fmt.Fprintf(w, "; the container still runs on %s (see fleetctl plan)", out.Running)
	}
	fmt.Fprintln(w)
	if in := out.Postgres; in != nil {
		fmt.Fprintf(w, "url:        %s\n", in.URL)
		fmt.Fprintf(w, "host:       %s\nport:       %s\ndatabase:   %s\nuser:       %s\n", in.Host, in.Port, in.Database, in.User)
		if in.Reachable {
			fmt.Fprintf(w, "reachable:  yes\nserver:     PostgreSQL %s\n", in.ServerVersion)
			fmt.Fprintf(w, "pgvector:   %s\n", map[bool]string{true: "installed", false: map[bool]string{true: "available, not installed", false: "not available"}[in.PGVectorAvailable]}[in.PGVector])
			fmt.Fprintf(w, "tables:     %d\n", len(in.Tables))
		} else {
			fmt.Fprintf(w, "reachable:  no (%s)\n", in.Error)
		}
		if in.SimpleProtocol {
			fmt.Fprintln(w, "protocol:   simple (transaction pooler)")
		}
	} else if len(out.NeedsSecrets) > 0 {
		fmt.Fprintf(w, "url:        unknown: needs secrets (%s)\n", refList(out.NeedsSecrets))
	} else {
		fmt.Fprintf(w, "data:       %s/webui.db in volume %s\n", fleet.DataDir, s.spec.VolumeName(c))
	}
	if out.Migration != nil {
		var rec apply.MigrationRecord
		json.Unmarshal(*out.Migration, &rec)
		fmt.Fprintf(w, "migrated:   %s, %s → %s, %d of %d rows, %d alteration kind(s) (record: %s)\n",
			rec.MigratedAt.Format(time.RFC3339), rec.From, rec.To, rec.CopiedRows, rec.TotalRows, len(rec.Alterations), out.Source)
		for _, a := range rec.Alterations {
			fmt.Fprintf(w, "            altered %s\n", a)
		}
		fmt.Fprintf(w, "backups:    %s (local), %s (volume)\n", rec.LocalBackup, rec.VolumeBackup)
	}
	return exitOK
}

// lastMigration reads the migration record from the client's volume (it
// travels with the data), else the newest one in the local backup dir.
func lastMigration(ctx context.Context, s *session, ctr, dir string) ([]byte, string) {
	var buf bytes.Buffer
	p := fleet.DataDir + "/" + apply.VolumeRecordFile
	if _, err := s.cli.CopyFileFromContainer(ctx, ctr, p, &buf); err == nil && json.Valid(buf.Bytes()) {
		return buf.Bytes(), "volume:" + p
	}
	files, _ := filepath.Glob(filepath.Join(dir, "migration-*.json"))
	sort.Strings(files)
	for i := len(files) - 1; i >= 0; i-- {
		if b, err := os.ReadFile(files[i]); err == nil && json.Valid(b) {
			return b, files[i]
		}
	}
	return nil, ""
}

func findContainer(st *observe.State, name string) *observe.Container {
	for i := range st.Containers {
		if st.Containers[i].Name == name {
			return &st.Containers[i]
		}
	}
	return nil
}

// openClient opens a session for one client; readOnly: openReadOnly's
// (secrets that are missing are left out, readonly.go).
func openClient(ctx context.Context, env *cliEnv, file, name string, readOnly bool) (*session, *fleet.Client, bool) {
	open := openSession
	if readOnly {
		open = openReadOnly
	}
	s, ok := open(ctx, env, file, false)
	if !ok {
		return nil, nil, false
	}
	c := s.spec.Client(name)
	if c == nil {
		fmt.Fprintf(env.stderr, "Error: no client %q in %s\n", name, s.spec.Path)
		s.close()
		return nil, nil, false
	}
	if s.hosts != nil && !s.useClientHost(ctx, env, name) { // hosts.go
		s.close()
		return nil, nil, false
	}
	return s, c, true
}

// dryRun is `db migrate --dry-run --json`.
type dryRun struct {
	Client        string                `json:"client"`
	Target        string                `json:"target"`
	ServerVersion string                `json:"serverVersion,omitempty"`
	Preflight     string                `json:"preflight"` // ok or the error
	Warnings      []string              `json:"warnings,omitempty"`
	NonEmpty      []string              `json:"nonEmptyTables,omitempty"`
	Orphans       []migrate.OrphanSet   `json:"orphans,omitempty"`
	Tables        []migrate.TableReport `json:"tables"`
	TotalRows     int64                 `json:"totalRows"`
	Estimate      string                `json:"estimate"`
	Steps         []string              `json:"steps,omitempty"`
	Downtime      string                `json:"downtime,omitempty"`
}

func dbMigrateCmd(env *cliEnv) *cobra.Command {
	var file string
	var asJSON, dry, force bool
	var orphans string
	c := &cobra.Command{
		Use:   "migrate CLIENT --dry-run",
		Short: "dry-run a client's SQLite → PostgreSQL migration: preflight and row counts, changing nothing",
		Long: "Run the preflight against the client's PostgreSQL target and count the rows of a copy of its\n" +
			"webui.db (taken while it runs), changing nothing. The migration itself is a planned action:\n" +
			"set database.backend: postgres in fleet.yaml, then 'fleetctl plan' and 'fleetctl apply'.",
		Args:              oneArg("a client name"),
		ValidArgsFunction: completeClients,
		RunE: func(c *cobra.Command, args []string) error {
			if err := validOrphans(orphans); err != nil {
				return err
			}
			return status(runDBMigrate(c.Context(), env, args[0], file, asJSON, dry, force, orphans))
		},
	}
	fileFlag(c, &file)
	jsonFlag(c, &asJSON)
	c.Flags().BoolVar(&dry, "dry-run", false, "preflight and row counts only; changes nothing (required)")
	c.Flags().BoolVar(&force, "force", false, "accept PostgreSQL tables that already hold rows (apply --force empties them)")
	orphansFlag(c, &orphans)
	return c
}

func runDBMigrate(ctx context.Context, env *cliEnv, client, file string, asJSON, dry, force bool, orphans string) int {
	if !dry {
		fmt.Fprintln(env.stderr, "Error: the migration itself runs as a planned action: set database.backend: postgres for the client in fleet.yaml, "+
			"then 'fleetctl plan' and 'fleetctl apply' (with --force for a target that holds rows). "+
			"'fleetctl db migrate CLIENT --dry-run' runs the preflight and counts the rows without changing anything.")
		return exitError
	}
	// The rows are counted on a temporary copy of the client's database:
	// an interrupt cancels and the copy is removed on the way out.
	env.intr.enter(phaseCleanup)
	defer env.intr.enter(phaseIdle)
	s, c, ok := openClient(ctx, env, file, client, false)
	if !ok {
		return exitError
	}
	defer s.close()
	ctx = redact.NewContext(ctx, s.secrets.Masker()) // PostgreSQL and Docker errors are masked
	u := c.Database.ConnURL(s.secrets)
	if u == "" {
		fmt.Fprintf(env.stderr, "Error: client %s has no PostgreSQL target: set database.backend: postgres and url (or supabase) in %s first\n", c.Name, s.spec.Path)
		return exitError
	}
	out := dryRun{Client: c.Name, Target: redact.URL(u), Tables: []migrate.TableReport{},
		Estimate: "row counts come from a copy of webui.db, -wal and -shm taken through the Docker API while the client runs, " +
			"opened read-only: an estimate (the client keeps writing); apply stops the client before its copy"}
	code := exitOK
	name := s.spec.ContainerName(c)
	st, err := s.cli.Observe(ctx, s.spec.Fleet, []string{s.spec.VolumeName(c)}, nil)
	if err != nil {
		fmt.Fprintf(env.stderr, "Error: %v\n", err)
		return exitError
	}
	ctr := findContainer(st, name)
	switch {
	case ctr == nil:
		out.Estimate = "container " + name + " does not exist: nothing to migrate (a new client on PostgreSQL is simply created)"
		out.Preflight = "not run (nothing to migrate)"
	case plan.ContainerBackend(ctr.Labels) == fleet.BackendPostgres:
		out.Estimate = "container " + name + " already runs on PostgreSQL: nothing to migrate"
		out.Preflight = "not run (nothing to migrate)"
	default:
		// The preflight apply runs before its stop, on the same kind of copy.
		rep, err := preflightFromCopy(ctx, s, ctr.ID, migrate.Options{URL: u, Force: force, Orphans: orphans,
			WantVector: c.Database.Vector == fleet.VectorPGVector})
		out.Preflight = "ok"
		if err != nil {
			out.Preflight, code = err.Error(), exitError
		}
		if rep != nil {
			out.ServerVersion, out.Warnings, out.NonEmpty, out.Orphans = rep.ServerVersion, rep.Warnings, rep.NonEmpty, rep.Orphans
			for _, t := range rep.Tables {
				out.Tables = append(out.Tables, t)
				out.TotalRows += t.SourceRows
			}
		}
	}
	// The steps, as the plan shows them.
	if p, _, ok := s.plan(ctx, env, plan.Options{Targets: []string{c.Name}}); ok {
		for _, a := range p.Actions {
			if a.Migration != nil {
				for _, st := range a.Migration.Steps {
					out.Steps = append(out.Steps, st.Text)
				}
				out.Downtime = a.Migration.Downtime
			}
		}
	}
	if asJSON {
		writeJSON(env, out)
		return code
	}
	w := env.stdout
	fmt.Fprintf(w, "Dry run: migrate client %s from SQLite to %s (nothing is changed)\n\n", c.Name, out.Target)
	fmt.Fprintf(w, "preflight: %s\n", out.Preflight)
	if out.ServerVersion != "" {
		fmt.Fprintf(w, "server:    PostgreSQL %s\n", out.ServerVersion)
	}
	for _, x := range out.Warnings {
		fmt.Fprintf(w, "warning:   %s\n", x)
	}
	if len(out.Orphans) > 0 {
		fmt.Fprintf(w, "\norphan rows (their parent row is missing; --orphans=%s):\n", orphans)
		for _, o := range out.Orphans {
			fmt.Fprintf(w, "  %-48s %d (e.g. %s)\n", o.ForeignKey, o.Rows, strings.Join(o.Examples, ", "))
		}
	}
	if len(out.Tables) > 0 {
		fmt.Fprintln(w, "\nrows to move:")
		for _, t := range out.Tables {
			fmt.Fprintf(w, "  %-24s %d\n", t.Name, t.SourceRows)
		}
		fmt.Fprintf(w, "  %-24s %d\n", "total", out.TotalRows)
	}
	fmt.Fprintf(w, "\nnote: %s\n", out.Estimate)
	if len(out.Steps) > 0 {
		fmt.Fprintln(w, "\nfleetctl apply will:")
		for i, x := range out.Steps {
			fmt.Fprintf(w, "  %d. %s\n", i+1, x)
		}
		fmt.Fprintf(w, "downtime: %s\n", out.Downtime)
	}
	return code
}

// preflightFromCopy copies webui.db and its -wal/-shm/-journal out of the
// (running) container into a temp dir, folds the WAL into the copy and
// runs the migration's preflight on it: the same copy-out and the same
// preflight as apply before its stop.
func preflightFromCopy(ctx context.Context, s *session, id string, o migrate.Options) (*migrate.Report, error) {
	dir, err := os.MkdirTemp("", "fleetctl-dryrun-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	local := filepath.Join(dir, "webui.db")
	if _, _, err := apply.CopyOutDatabase(ctx, s.cli, id, fleet.DataDir, local, nil); err != nil {
		return nil, fmt.Errorf("copy of the running database: %w", err)
	}
	if err := migrate.PrepareBackup(ctx, local); err != nil {
		return nil, err
	}
	o.SQLitePath, o.DryRun, o.SkipSourceHash = local, true, true
	return migrate.Run(ctx, o)
}
