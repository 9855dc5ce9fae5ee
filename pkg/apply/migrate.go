package apply

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/plan"
	"github.com/quantabase/fleetctl/pkg/resource"
)

// The migrate-database action: a client on SQLite moves to PostgreSQL.
//
//	preflight (client still running) → stop → copy webui.db (+ -wal/-shm)
//	out through the engine's archive API → backup (checkpoint + integrity
//	check of the COPY; kept locally and as webui-backup-TS.db in the volume)
//	→ schema (the client's image once against the target, health-gated,
//	removed) → copy + verify (one transaction) → switch (the normal
//	stop-first recreate) → record.
//
// Any failure after the stop restarts the client on SQLite with its volume
// untouched (webui.db is only ever read) and empties again the tables the
// copy filled. A pending-migration journal in the backup directory lets the
// next run undo a copy that committed just before fleetctl was killed.

// MigrationEngine is what a migration needs from the container runtime on
// top of Engine; pkg/docker implements it through the Engine API, so it
// works with a remote engine.
type MigrationEngine interface {
	// CopyFileFromContainer writes a regular file of a (stopped) container
	// to w; a missing file is fs.ErrNotExist.
	CopyFileFromContainer(ctx context.Context, id, path string, w io.Writer) (int64, error)
	// CopyFileToContainer creates dir/name in the container (its volume).
	CopyFileToContainer(ctx context.Context, id, dir, name string, r io.Reader, size int64) error
	// CreateEphemeralContainer creates a helper container whose port is
	// published on an engine-chosen host port (read it with PublishedPort).
	CreateEphemeralContainer(ctx context.Context, c resource.Container) (string, error)
	PublishedPort(ctx context.Context, id string, containerPort int) (int, error)
}

// MigrationTarget is the PostgreSQL side of a migration.
type MigrationTarget struct {
	URL        string // holds the password: never printed
	WantVector bool
	// Force writes into tables that already hold rows (emptied first).
	Force bool
	// Orphans: "" or "refuse" (rows whose parent row is missing fail the
	// preflight) or "quarantine" (copied into QuarantinePath instead).
	Orphans        string
	QuarantinePath string
	// Image is the client's image (it creates the target's schema): named
	// when the schema revisions of the data and the target differ.
	Image string
}

// Migrator moves data; the CLI wires pkg/migrate and pkg/pg behind it, so
// apply imports neither pgx nor a SQLite driver.
type Migrator interface {
	// Preflight checks, without writing, the target (reachable: a wrong
	// password fails here; version; vector extension; empty or
	// schema-only) against a copy of the client's database taken while it
	// runs (orphan rows, schema revision, an encrypted file).
	Preflight(ctx context.Context, t MigrationTarget, sqlitePath string) (PreflightResult, error)
	// PrepareBackup turns the copied webui.db (with its -wal/-shm beside it)
	// into one verified file: WAL checkpointed into the copy, integrity_check ok.
	PrepareBackup(ctx context.Context, path string) error
	// Seeded lists the rows the application's schema step inserted: every
	// row of the tables that were not in heldBefore (the preflight's
	// NonEmpty). The result is opaque to the executor: it is journaled and
	// handed back to Copy and Undo.
	Seeded(ctx context.Context, t MigrationTarget, heldBefore []string) (seeded json.RawMessage, rows int, err error)
	// Copy deletes exactly the seeded rows, copies the SQLite file into the
	// target and verifies it, in one transaction (nothing is left in the
	// target when it fails).
	Copy(ctx context.Context, t MigrationTarget, sqlitePath string, seeded json.RawMessage, progress func(string)) (*MigrationResult, error)
	// Undo empties again the tables a committed Copy wrote that were empty
	// before and deletes exactly the seeded rows, in one transaction.
	Undo(ctx context.Context, t MigrationTarget, written []string, seeded json.RawMessage) error
}

// PreflightResult is what Preflight found.
type PreflightResult struct {
	ServerVersion string
	Warnings      []string
	// NonEmpty are the tables holding rows before any downtime (possible
	// only with Force): the schema step's seeded rows are looked for in
	// the others.
	NonEmpty []string
	// Orphans describes the orphan rows found (quarantined with
	// Orphans "quarantine"; with "refuse" they are the error).
	Orphans []string
}

// MigrationResult is what Copy reports.
type MigrationResult struct {
	// Report is the engine's full JSON report (counts, checksums,
	// alterations); it holds no password.
	Report      json.RawMessage `json:"report"`
	Written     []string        `json:"written"`
	TotalRows   int64           `json:"totalRows"`
	CopiedRows  int64           `json:"copiedRows"`
	Alterations []string        `json:"alterations"` // "chat.title: nul-removed x1"
}

// MigrationOptions tune migrate-database actions.
type MigrationOptions struct {
	Migrator Migrator
	// BackupDir is the root of local backups: BackupDir/FLEET/CLIENT/
	// (default DefaultBackupRoot()).
	BackupDir string
	// Force: see MigrationTarget.Force.
	Force bool
	// Orphans: see MigrationTarget.Orphans.
	Orphans string
	// Log, when set, receives one line per step (from the action's goroutine).
	Log func(a *plan.Action, line string)
	// Now is the clock for backup names (default time.Now).
	Now func() time.Time
	// AfterStep, when set, is called after each step ("preflight", "stop",
	// "backup", "schema", "copy", "switch"): fault-injection tests pause here.
	AfterStep func(step string)
}

// Files a migration leaves in the client's volume.
const (
	VolumeRecordFile = "fleetctl-migration.json"
	volumeBackupFmt  = "webui-backup-%s.db"
	pendingFile      = "migration-pending.json"
	schemaSuffix     = "-fleetctl-schema"
	// LabelRole marks helper containers (not a client's container).
	LabelRole = "io.fleetctl.role"
)

// MigrationRecord is written after a successful migration, in the volume
// (VolumeRecordFile) and in the backup directory (migration-TS.json).
type MigrationRecord struct {
	Fleet        string          `json:"fleet"`
	Client       string          `json:"client"`
	MigratedAt   time.Time       `json:"migratedAt"`
	From         fleet.Backend   `json:"from"`
	To           fleet.Backend   `json:"to"`
	Target       string          `json:"target"` // masked
	SourceSHA256 string          `json:"sourceSha256"`
	SourceBytes  int64           `json:"sourceBytes"`
	LocalBackup  string          `json:"localBackup"`
	VolumeBackup string          `json:"volumeBackup"`
	TotalRows    int64           `json:"totalRows"`
	CopiedRows   int64           `json:"copiedRows"`
	Alterations  []string        `json:"alterations"`
	Report       json.RawMessage `json:"report"`
}

// pending is the journal of a migration that has begun writing into the
// target: written before the schema step (Phase "schema", HeldBefore),
// again once the step's seeded rows are known ("seeded", Seeded) and after
// the copy committed ("copied", Written). If fleetctl dies before the
// switch finished, the next run deletes exactly those rows and empties
// those tables again (the client never ran on PostgreSQL, its SQLite
// container is still the one named here) and starts over; a rollback does
// the same.
type pending struct {
	Container string `json:"container"`
	// Target is the database the copy went into (host:port/name, no
	// credentials): Undo runs only against that same database.
	Target     string          `json:"target"`
	Phase      string          `json:"phase"`
	HeldBefore []string        `json:"heldBefore"`
	Seeded     json.RawMessage `json:"seeded,omitempty"`
	Written    []string        `json:"written"`
	At         time.Time       `json:"at"`
}

// BackupDirFor is where a client's local backups go.
func BackupDirFor(root, fleet, client string) string {
	if root == "" {
		root = DefaultBackupRoot()
	}
	return filepath.Join(root, fleet, client)
}

// DefaultBackupRoot is $XDG_STATE_HOME/fleetctl/backups (~/.local/state/...):
// an absolute place outside any checkout, since a backup holds a client's
// whole database (password hashes, OAuth tokens) and must never land in git
// or CI artifacts. Without a home directory it is /var/lib/fleetctl/backups.
func DefaultBackupRoot() string {
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "fleetctl", "backups")
	}
	if h, err := os.UserHomeDir(); err == nil && filepath.IsAbs(h) {
		return filepath.Join(h, ".local", "state", "fleetctl", "backups")
	}
	return "/var/lib/fleetctl/backups"
}

func (r *runner) migrate(ctx context.Context, a *plan.Action) error {
	me, ok := r.eng.(MigrationEngine)
	mo := r.opt.Migration
	switch {
	case !ok:
		return errors.New("migrate database: the container engine cannot copy files (no MigrationEngine)")
	case mo.Migrator == nil:
		return errors.New("migrate database: no migrator configured")
	case a.Migration == nil || a.Container == nil || a.ExistingID == "":
		return errors.New("migrate database: incomplete action")
	}
	m := &migration{r: r, a: a, me: me, mo: mo}
	return m.run(ctx)
}

type migration struct {
	r       *runner
	a       *plan.Action
	me      MigrationEngine
	mo      MigrationOptions
	tgt     MigrationTarget
	dir     string // local backup dir
	copied  *MigrationResult
	journal *pending // what this run has journaled (nil before the schema step)
	stopped bool
	// Between steps.
	ts, schemaName, backupPath, sum string
	size                            int64
	pre                             PreflightResult
}

func (m *migration) log(format string, args ...any) {
	if m.mo.Log != nil {
		m.mo.Log(m.a, fmt.Sprintf(format, args...))
	}
}

func (m *migration) step(name string) {
	if m.mo.AfterStep != nil {
		m.mo.AfterStep(name)
	}
}

func (m *migration) now() time.Time {
	if m.mo.Now != nil {
		return m.mo.Now().UTC()
	}
	return time.Now().UTC()
}

// migrationSteps is the order the executor runs; the plan must list
// exactly these (its text and this run are one list).
var migrationSteps = []string{plan.StepPreflight, plan.StepStop, plan.StepBackup, plan.StepSchema, plan.StepCopy, plan.StepSwitch, plan.StepRecord}

func (m *migration) run(ctx context.Context) error {
	a := m.a
	var got []string
	for _, s := range a.Migration.Steps {
		got = append(got, s.Step)
	}
	if strings.Join(got, ",") != strings.Join(migrationSteps, ",") {
		return fmt.Errorf("migrate database: the plan's steps (%s) are not the ones this fleetctl runs (%s): plan again",
			strings.Join(got, ", "), strings.Join(migrationSteps, ", "))
	}
	m.tgt = MigrationTarget{URL: a.Migration.TargetURL, WantVector: a.Migration.WantVector, Force: m.mo.Force,
		Orphans: m.mo.Orphans, Image: a.Container.Image}
	if m.tgt.URL == "" {
		return errors.New("migrate database: the action carries no target URL")
	}
	m.dir = BackupDirFor(m.mo.BackupDir, a.Migration.Fleet, a.Client)
	m.schemaName = a.Object + schemaSuffix
	// A helper left by a killed run goes first.
	if err := m.r.stopRemove(ctx, m.schemaName); err != nil {
		return fmt.Errorf("remove the schema helper %s left by an interrupted run: %w", m.schemaName, err)
	}
	if err := m.resumePending(ctx); err != nil {
		return m.notStopped(ctx, err)
	}
	m.ts = m.now().Format("20060102T150405Z")
	for _, s := range a.Migration.Steps {
		if err := m.do(ctx, s.Step); err != nil {
			return err
		}
		m.step(s.Step)
	}
	return nil
}

// do runs one step; a failure has already been rolled back when it returns.
func (m *migration) do(ctx context.Context, step string) error {
	a := m.a
	switch step {
	case plan.StepPreflight: // before any downtime: the target, and a copy of the running database
		m.tgt.QuarantinePath = filepath.Join(m.dir, "orphans-"+m.ts+".db")
		m.log("preflight: %s", a.Migration.Target)
		pre, err := m.preflight(ctx)
		if err != nil {
			return m.notStopped(ctx, fmt.Errorf("preflight: %w", err))
		}
		m.pre = pre
		m.log("preflight ok: PostgreSQL %s", pre.ServerVersion)
		for _, o := range pre.Orphans {
			m.log("orphans (quarantined into %s): %s", m.tgt.QuarantinePath, o)
		}
		for _, w := range pre.Warnings {
			m.log("warning: %s", w)
		}
	case plan.StepStop:
		m.log("stopping %s (SQLite has one writer)", a.Object)
		m.stopped = true
		if err := m.r.eng.StopContainer(ctx, a.ExistingID, m.r.opt.StopTimeout); err != nil {
			return m.rollback(ctx, "stop", err)
		}
		// No restart while its data is copied: an engine restart must not bring
		// it back as a writer whose new rows the switch would leave behind.
		if err := m.r.eng.SetRestartPolicy(ctx, a.ExistingID, "no"); err != nil {
			return m.rollback(ctx, "stop", err)
		}
	case plan.StepBackup:
		backup, sum, size, err := m.backup(ctx, m.ts)
		if err != nil {
			return m.rollback(ctx, "backup", err)
		}
		m.backupPath, m.sum, m.size = backup, sum, size
	case plan.StepSchema:
		// The journal comes first: a kill during the step leaves rows it
		// seeded, which the next run finds (every row of a table that held
		// none before) and deletes.
		m.journal = &pending{Container: a.ExistingID, Target: fleet.DatabaseKey(m.tgt.URL), Phase: "schema", HeldBefore: m.pre.NonEmpty, Written: []string{}}
		if m.journal.HeldBefore == nil {
			m.journal.HeldBefore = []string{}
		}
		if err := m.writePending(); err != nil {
			return m.rollback(ctx, "journal", err)
		}
		if err := m.schema(ctx, m.schemaName); err != nil {
			return m.rollback(ctx, "schema", err)
		}
		seeded, n, err := m.mo.Migrator.Seeded(ctx, m.tgt, m.pre.NonEmpty)
		if err != nil {
			return m.rollback(ctx, "schema", err)
		}
		m.journal.Phase, m.journal.Seeded = "seeded", seeded
		if err := m.writePending(); err != nil {
			return m.rollback(ctx, "journal", err)
		}
		m.log("schema: the application seeded %d row(s); recorded in %s, deleted exactly before the copy", n, filepath.Join(m.dir, pendingFile))
	case plan.StepCopy:
		m.log("copying into %s (one transaction; verified before commit)", a.Migration.Target)
		res, err := m.mo.Migrator.Copy(ctx, m.tgt, m.backupPath, m.journal.Seeded, func(line string) { m.log("%s", line) })
		if err != nil {
			return m.rollback(ctx, "copy", err)
		}
		m.copied = res
		m.journal.Phase, m.journal.Written = "copied", res.Written
		if err := m.writePending(); err != nil {
			return m.rollback(ctx, "journal", err)
		}
		m.log("copied and verified %d of %d rows; %d kind(s) of alteration", res.CopiedRows, res.TotalRows, len(res.Alterations))
		for _, al := range res.Alterations {
			m.log("altered: %s", al)
		}
	case plan.StepSwitch:
		// The normal stop-first recreate (rolls back to the old container by
		// itself when the new one is not healthy).
		m.log("switching %s to PostgreSQL", a.Object)
		sw := *a
		sw.Kind, sw.ExistingMatches = plan.KindRecreateContainer, false
		if err := m.r.recreate(ctx, &sw); errors.Is(err, errOldNotRemoved) {
			m.log("warning: %v", err) // the client runs on PostgreSQL, healthy
		} else if err != nil {
			// recreate restores (and health-checks) the old container itself,
			// unless it failed before parking it: look rather than assume.
			st, serr := m.r.eng.ContainerState(ctx, a.ExistingID)
			m.stopped = serr != nil || st != "running"
			return m.rollback(ctx, "switch", err)
		}
	case plan.StepRecord:
		m.record(ctx)
	}
	return nil
}

// record writes the migration record into the volume and the backup
// directory (failures are warnings: the client runs on PostgreSQL) and
// removes the journal.
func (m *migration) record(ctx context.Context) {
	a, res := m.a, m.copied
	rec := MigrationRecord{
		Fleet: a.Migration.Fleet, Client: a.Client, MigratedAt: m.now(), From: a.Migration.From, To: a.Migration.To,
		Target: a.Migration.Target, SourceSHA256: m.sum, SourceBytes: m.size,
		LocalBackup: m.backupPath, VolumeBackup: filepath.ToSlash(filepath.Join(a.Container.MountPath, fmt.Sprintf(volumeBackupFmt, m.ts))),
		TotalRows: res.TotalRows, CopiedRows: res.CopiedRows, Alterations: res.Alterations, Report: res.Report,
	}
	if rec.Alterations == nil {
		rec.Alterations = []string{}
	}
	raw, _ := json.MarshalIndent(rec, "", "  ")
	raw = append(raw, '\n')
	local := filepath.Join(m.dir, "migration-"+m.ts+".json")
	if err := os.WriteFile(local, raw, 0o600); err != nil {
		m.log("warning: could not write the migration record %s: %v", local, err)
	}
	if err := m.me.CopyFileToContainer(ctx, a.Object, a.Container.MountPath, VolumeRecordFile, strings.NewReader(string(raw)), int64(len(raw))); err != nil {
		m.log("warning: could not write the migration record into the volume: %v", err)
	}
	_ = os.Remove(filepath.Join(m.dir, pendingFile))
	m.log("done: record %s and %s/%s", local, a.Container.MountPath, VolumeRecordFile)
}

// notStopped ends a migration that failed before its stop. The client was
// not touched, unless an earlier, killed run had left it stopped: then it
// is started again so it ends healthy on SQLite.
func (m *migration) notStopped(ctx context.Context, err error) error {
	msg := "nothing was changed; the client keeps running on SQLite"
	if m.a.Start {
		if st, serr := m.r.eng.ContainerState(ctx, m.a.ExistingID); serr == nil && st != "running" {
			if rerr := m.restartOld(ctx); rerr != nil {
				return fmt.Errorf("%w; restarting the client on SQLite (an earlier run had stopped it) also failed: %v", err, rerr)
			}
			msg = "the client (stopped by an earlier, interrupted run) is running on SQLite again"
		}
	}
	return fmt.Errorf("%w (%s)", err, msg)
}

// rollback puts the client back on SQLite: target tables the copy filled
// are emptied again first (so a kill between the two steps is caught by the
// journal), then the old container is started and health-checked.
func (m *migration) rollback(ctx context.Context, step string, cause error) error {
	var notes []string
	if m.journal != nil {
		if err := m.undoJournal(ctx, m.journal); err != nil {
			notes = append(notes, fmt.Sprintf("emptying the target again failed: %v (what to empty is listed in %s)", err, filepath.Join(m.dir, pendingFile)))
		} else {
			_ = os.Remove(filepath.Join(m.dir, pendingFile))
			if m.copied != nil {
				notes = append(notes, "the target tables it had filled are empty again")
			} else {
				notes = append(notes, "nothing was committed to PostgreSQL; the rows the schema step seeded are deleted")
			}
		}
	} else {
		notes = append(notes, "nothing was committed to PostgreSQL")
	}
	if m.stopped {
		if err := m.restartOld(ctx); err != nil {
			return fmt.Errorf("migrate database: %s failed: %w; rolling back: %s; restarting the client on SQLite FAILED: %v (its volume is untouched; run apply again)",
				step, cause, strings.Join(notes, "; "), err)
		}
	}
	state := "stays stopped, as fleet.yaml asks"
	if m.a.Start {
		state = "is running on SQLite again, healthy"
	}
	return fmt.Errorf("migrate database: %s failed: %w; rolled back: the client %s with its untouched volume; %s",
		step, cause, state, strings.Join(notes, "; "))
}

func (m *migration) restartOld(ctx context.Context) error {
	if m.a.OldRestart != "" {
		if err := m.r.eng.SetRestartPolicy(ctx, m.a.ExistingID, m.a.OldRestart); err != nil {
			return err
		}
	}
	if !m.a.Start {
		return nil
	}
	if err := m.r.eng.StartContainer(ctx, m.a.ExistingID); err != nil {
		return err
	}
	old := *m.a.Container
	if m.a.OldPort.HostPort != 0 {
		old.BindAddress, old.HostPort = m.a.OldPort.HostIP, m.a.OldPort.HostPort
	}
	return m.r.healthy(ctx, m.a.Object, &old, m.a.ExistingID)
}
