package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/quantabase/fleetctl/pkg/apply"
	"github.com/quantabase/fleetctl/pkg/migrate"
)

// Migrator wires pkg/migrate (and through it pkg/pg) to the executor's
// apply.Migrator, so pkg/apply imports neither pgx nor a SQLite driver.
type Migrator struct {
	// Schema is the target schema (default public).
	Schema string
}

var _ apply.Migrator = Migrator{}

// Preflight implements apply.Migrator: the migration's own preflight (one
// function for the dry run, apply's check before the stop and the copy's
// check after it), on a copy of the running client's database.
func (m Migrator) Preflight(ctx context.Context, t apply.MigrationTarget, sqlitePath string) (apply.PreflightResult, error) {
	rep, err := migrate.Run(ctx, m.options(t, sqlitePath, true))
	out := apply.PreflightResult{ServerVersion: rep.ServerVersion, Warnings: rep.Warnings, NonEmpty: rep.NonEmpty}
	for _, o := range rep.Orphans {
		out.Orphans = append(out.Orphans, fmt.Sprintf("%s: %d row(s) (e.g. %s)", o.ForeignKey, o.Rows, strings.Join(o.Examples, ", ")))
	}
	return out, m.explain(t, err)
}

func (m Migrator) options(t apply.MigrationTarget, sqlitePath string, dry bool) migrate.Options {
	return migrate.Options{SQLitePath: sqlitePath, URL: t.URL, Schema: m.Schema, Force: t.Force, WantVector: t.WantVector,
		Orphans: t.Orphans, QuarantinePath: t.QuarantinePath, DryRun: dry, SkipSourceHash: dry}
}

// explain names the image when the schema revisions differ.
func (m Migrator) explain(t apply.MigrationTarget, err error) error {
	if errors.Is(err, migrate.ErrVersionSkew) && t.Image != "" {
		return fmt.Errorf("%w (the target's schema was created by image %s)", err, t.Image)
	}
	return err
}

// Seeded implements apply.Migrator.
func (m Migrator) Seeded(ctx context.Context, t apply.MigrationTarget, heldBefore []string) (json.RawMessage, int, error) {
	s, err := migrate.FindSeeded(ctx, t.URL, m.Schema, heldBefore)
	if err != nil {
		return nil, 0, err
	}
	return s.JSON(), s.Count(), nil
}

// PrepareBackup implements apply.Migrator.
func (m Migrator) PrepareBackup(ctx context.Context, path string) error {
	return migrate.PrepareBackup(ctx, path)
}

// Copy implements apply.Migrator. The preflight before the stop made sure
// every table was empty (or Force); the rows the application's own first
// start in the schema step seeded (its defaults, an admin) are deleted,
// exactly, inside the copy's transaction.
func (m Migrator) Copy(ctx context.Context, t apply.MigrationTarget, sqlitePath string, seededRaw json.RawMessage, progress func(string)) (*apply.MigrationResult, error) {
	seeded, err := migrate.ParseSeeded(seededRaw)
	if err != nil {
		return nil, err
	}
	stall := testStall()
	last := time.Time{}
	o := m.options(t, sqlitePath, false)
	o.Seeded = seeded
	o.Progress = func(p migrate.Progress) {
		if stall > 0 && p.Phase == "verify" {
			progress(fmt.Sprintf("test hook: stalling %s inside the copy transaction (FLEETCTL_TEST_MIGRATE_STALL)", stall))
			time.Sleep(stall)
			stall = 0
		}
		switch {
		case p.TableTotal == 0:
			return
		case p.Phase == "verify":
			progress(fmt.Sprintf("verify %s: %d rows (counts and checksums)", p.Table, p.TableTotal))
			return
		case time.Since(last) < time.Second && p.TableDone != p.TableTotal:
			return
		}
		last = time.Now()
		progress(fmt.Sprintf("copy %s: %d/%d rows (all tables: %d/%d, %s)", p.Table, p.TableDone, p.TableTotal, p.Done, p.Total, percent(p.Done, p.Total)))
	}
	rep, err := migrate.Run(ctx, o)
	if err != nil {
		return nil, m.explain(t, err)
	}
	if rep.Quarantined > 0 {
		progress(fmt.Sprintf("quarantined %d orphan row(s) into %s (not copied)", rep.Quarantined, rep.QuarantineFile))
	}
	res := &apply.MigrationResult{Report: rep.JSON(), Written: rep.Written(), TotalRows: rep.TotalRows, CopiedRows: rep.CopiedRows, Alterations: []string{}}
	for _, tr := range rep.Tables {
		for _, a := range tr.Alter {
			res.Alterations = append(res.Alterations, fmt.Sprintf("%s.%s: %s x%d", tr.Name, a.Column, a.Kind, a.Count))
		}
	}
	sort.Strings(res.Alterations)
	return res, nil
}

// Undo implements apply.Migrator.
func (m Migrator) Undo(ctx context.Context, t apply.MigrationTarget, written []string, seededRaw json.RawMessage) error {
	seeded, err := migrate.ParseSeeded(seededRaw)
	if err != nil {
		return err
	}
	return migrate.Undo(ctx, t.URL, m.Schema, written, seeded)
}

func percent(done, total int64) string {
	if total <= 0 {
		return "100%"
	}
	return fmt.Sprintf("%d%%", done*100/total)
}
