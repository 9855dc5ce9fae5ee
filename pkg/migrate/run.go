package migrate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"

	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/quantabase/fleetctl/pkg/pg"
	"github.com/quantabase/fleetctl/pkg/redact"
)

// appTables are bookkeeping tables the application fills itself when it
// creates the schema; copying them would claim a schema version the target
// does not have.
var appTables = map[string]bool{"alembic_version": true, "migratehistory": true}

// Options configure Run.
type Options struct {
	SQLitePath string // the SQLite file (a copy; it is opened read-only)
	URL        string // target PostgreSQL URL (holds a password: never printed)
	Schema     string // default "public"
	// Force writes into tables that already hold rows, by emptying them
	// first (the report lists them). Without it such a target is refused.
	Force bool
	// Seeded are the rows the application's schema step inserted (see
	// FindSeeded): deleted, exactly, inside the copy's transaction before
	// the copy; their tables do not count as holding rows.
	Seeded *Seeded
	// Orphans: OrphansRefuse (default) fails the preflight when rows
	// reference missing parents; OrphansQuarantine copies those rows into
	// QuarantinePath (a new SQLite file) instead of the target, counted.
	Orphans        string
	QuarantinePath string
	// DryRun stops after preflight and plan: nothing is written.
	DryRun bool
	// WantVector warns when the vector extension is not available.
	WantVector bool
	// SimpleProtocol: see pg.Options (automatic behind a transaction pooler).
	SimpleProtocol bool
	// Progress, if set, is called from the copying goroutine.
	Progress func(Progress)
	// SkipSourceHash skips hashing the SQLite file for the report.
	SkipSourceHash bool
	// IntegrityCheck runs PRAGMA quick_check on the source first (a full
	// read; the apply step runs integrity_check on its copy anyway).
	IntegrityCheck bool
}

// Run migrates (or, with DryRun, plans). It always returns a report; err is
// also recorded in it. On failure nothing is left in the target.
func Run(ctx context.Context, o Options) (*Report, error) {
	r := &Report{Source: o.SQLitePath, Target: redact.URL(o.URL), DryRun: o.DryRun, StartedAt: time.Now().UTC(), Tables: []TableReport{}}
	err := pg.Masker(ctx, o.URL).Error(run(ctx, o, r)) // server messages may echo values
	r.FinishedAt = time.Now().UTC()
	r.Durations.Total = r.FinishedAt.Sub(r.StartedAt).Seconds()
	if err != nil {
		r.Error = err.Error()
		return r, err
	}
	r.OK = true
	return r, nil
}

func run(ctx context.Context, o Options, r *Report) error {
	if o.Schema == "" {
		o.Schema = "public"
	}
	t0 := time.Now()
	st, err := os.Stat(o.SQLitePath)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	r.SourceBytes = st.Size()
	if err := plainSQLite(o.SQLitePath); err != nil {
		return err
	}
	if !o.SkipSourceHash {
		if r.SourceSHA256, err = fileSHA256(o.SQLitePath); err != nil {
			return fmt.Errorf("source: %w", err)
		}
	}
	src, err := openSource(ctx, o.SQLitePath)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	defer src.Close()
	if o.IntegrityCheck {
		if err := integrityCheck(ctx, src); err != nil {
			return err
		}
	}

	conn, err := pg.Connect(ctx, o.URL, pg.Options{SimpleProtocol: o.SimpleProtocol, AppName: "fleetctl-migrate"})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrPreflight, err)
	}
	defer conn.Close(context.Background())

	jobs, nonEmpty, err := preflight(ctx, o, r, src, conn)
	r.Durations.Preflight = time.Since(t0).Seconds()
	if err != nil || o.DryRun {
		return err
	}
	r.RolledBack = true // until the commit succeeds
	if err := copyAll(ctx, o, r, src, conn, jobs, nonEmpty); err != nil {
		return err
	}
	r.RolledBack = false
	return nil
}

// preflight checks the server and the target and builds the plan.
func preflight(ctx context.Context, o Options, r *Report, src *source, conn *pgx.Conn) ([]*tableJob, []string, error) {
	in, err := pg.ServerInfo(ctx, conn)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrPreflight, err)
	}
	r.ServerVersion, r.PGVector = in.ServerVersion, in.PGVector
	if in.ServerVersionNum < 120000 {
		return nil, nil, fmt.Errorf("%w: PostgreSQL %s is too old (need 12 or later)", ErrPreflight, in.ServerVersion)
	}
	if o.WantVector && !in.PGVector {
		msg := "the vector extension is not installed in the target database (CREATE EXTENSION vector)"
		if !in.PGVectorAvailable {
			msg = "the vector extension is not available on the server (pgvector was asked for)"
		}
		r.Warnings = append(r.Warnings, msg)
	}
	tgt, err := targetTables(ctx, conn, o.Schema)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrPreflight, err)
	}
	r.SchemaFromApp = tgt["alembic_version"] != nil || tgt["migratehistory"] != nil
	// Refusals are returned once the report lists the tables too (the dry
	// run shows both); errors reading either side end the preflight at once.
	var refuse []error
	if err := versionSkew(ctx, src, conn, o.Schema, tgt); errors.Is(err, ErrVersionSkew) {
		refuse = append(refuse, err)
	} else if err != nil {
		return nil, nil, err
	}
	skip := []string{"alembic_version", "migratehistory"}
	if o.Seeded != nil {
		for _, t := range o.Seeded.Tables {
			skip = append(skip, t.Name) // emptied, exactly, before the copy
		}
	}
	nonEmpty, err := pg.NonEmpty(ctx, conn, o.Schema, skip...)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrPreflight, err)
	}
	r.NonEmpty = append([]string{}, nonEmpty...)
	if len(nonEmpty) > 0 && !o.Force {
		refuse = append(refuse, fmt.Errorf("%w: table(s) %s already hold rows (refusing to write into them; --force empties them first)",
			ErrTargetNotEmpty, strings.Join(nonEmpty, ", ")))
	}
	hasRows := map[string]bool{}
	for _, n := range nonEmpty {
		hasRows[n] = true
	}

	srcTables, err := src.tables(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("source: %w", err)
	}
	byName := map[string]*srcTable{}
	parents := map[string][]string{}
	var names []string
	for _, t := range srcTables {
		byName[t.Name] = t
		names = append(names, t.Name)
		parents[t.Name] = append(parents[t.Name], t.Parents...)
		if tt := tgt[t.Name]; tt != nil {
			parents[t.Name] = append(parents[t.Name], tt.Parents...)
		}
	}
	srcFKs, err := src.foreignKeys(ctx, srcTables)
	if err != nil {
		return nil, nil, fmt.Errorf("source: %w", err)
	}
	tgtFKs, err := targetFKs(ctx, conn, o.Schema)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrPreflight, err)
	}
	allFKs := mergeFKs(srcTables, srcFKs, tgtFKs)
	sets, quarantine, err := findOrphans(ctx, src, srcTables, allFKs)
	if err != nil {
		return nil, nil, fmt.Errorf("source: %w", err)
	}
	r.Orphans = sets
	if len(sets) > 0 && o.Orphans != OrphansQuarantine {
		refuse = append(refuse, orphanError(sets))
	}
	bad, notMigrated, err := src.unsupported(ctx, srcTables, tgt)
	if err != nil {
		return nil, nil, fmt.Errorf("source: %w", err)
	}
	r.NotMigrated = notMigrated
	for _, n := range notMigrated {
		r.Warnings = append(r.Warnings, n+" is not migrated (the application does not create it; recreate it in PostgreSQL if you need it)")
	}
	if len(bad) > 0 {
		refuse = append(refuse, fmt.Errorf("%w: %s", ErrUnsupported, strings.Join(bad, "; ")))
	}
	dups, err := findDuplicates(ctx, src, srcTables)
	if err != nil {
		return nil, nil, fmt.Errorf("source: %w", err)
	}
	r.Duplicates = dups
	if len(dups) > 0 {
		refuse = append(refuse, duplicateError(dups))
	}
	order, cyclic := fkOrder(names, parents)
	if len(cyclic) > 0 {
		r.Warnings = append(r.Warnings, "foreign keys form a cycle between "+strings.Join(cyclic, ", ")+": copied last, by name")
	}
	var jobs []*tableJob
	var mismatch []string
	for _, name := range order {
		t := byName[name]
		rep := TableReport{Name: name, SourceRows: t.Rows, EmptyBefore: !hasRows[name], Quarantined: quarantine.count(name)}
		r.TotalRows += t.Rows
		r.Quarantined += rep.Quarantined
		if appTables[name] && r.SchemaFromApp {
			rep.Action, rep.Reason = "skip", "the application created the target schema and keeps this table itself"
			r.TotalRows -= t.Rows
			r.Tables = append(r.Tables, rep)
			continue
		}
		j := &tableJob{src: t, skip: quarantine[name]}
		if tt := tgt[name]; tt == nil {
			rep.Action = "create+copy"
			if j.uniques, err = src.uniqueKeys(ctx, t); err != nil {
				return nil, nil, fmt.Errorf("source: %w", err)
			}
			for _, f := range allFKs {
				if f.Child == name && srcHas(srcFKs, f) {
					j.fks = append(j.fks, f)
				}
			}
			for _, c := range t.Columns {
				j.cols = append(j.cols, c.Name)
				j.kinds = append(j.kinds, kindOf(udtOf(pgTypeFor(c.Type))))
			}
		} else {
			rep.Action = "copy"
			cols := map[string]tgtColumn{}
			for _, c := range tt.Columns {
				cols[c.Name] = c
			}
			for _, c := range t.Columns {
				tc, ok := cols[c.Name]
				if !ok {
					mismatch = append(mismatch, name+"."+c.Name)
					continue
				}
				j.cols = append(j.cols, c.Name)
				j.kinds = append(j.kinds, tc.Kind)
			}
		}
		for _, k := range j.kinds {
			j.encs = append(j.encs, &colEncoder{kind: k})
		}
		j.srcHash = newRowHasher(j.kinds)
		r.Tables = append(r.Tables, rep)
		jobs = append(jobs, j)
	}
	if len(refuse) > 0 {
		return nil, nil, errors.Join(refuse...)
	}
	if len(mismatch) > 0 {
		sort.Strings(mismatch)
		return nil, nil, fmt.Errorf("%w: column(s) %s exist in SQLite but not in PostgreSQL: the target schema must come from the same Open WebUI version",
			ErrSchemaMismatch, strings.Join(mismatch, ", "))
	}
	// Point each job at its report entry (the slice is complete now).
	for _, j := range jobs {
		for i := range r.Tables {
			if r.Tables[i].Name == j.src.Name {
				j.rep = &r.Tables[i]
			}
		}
	}
	var forced []string
	for _, n := range nonEmpty {
		forced = append(forced, n)
	}
	return jobs, forced, nil
}

// copyAll runs in one transaction: create missing tables, copy, verify,
// reset sequences, commit. Any error rolls everything back.
func copyAll(ctx context.Context, o Options, r *Report, src *source, conn *pgx.Conn, jobs []*tableJob, forced []string) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(context.Background())
	n, err := deleteSeeded(ctx, tx, o.Schema, o.Seeded)
	if err != nil {
		return err
	}
	r.SeededRemoved = n
	if len(forced) > 0 {
		ids := make([]string, len(forced))
		for i, n := range forced {
			ids[i] = pgx.Identifier{o.Schema, n}.Sanitize()
		}
		if _, err := tx.Exec(ctx, "TRUNCATE "+strings.Join(ids, ", ")); err != nil {
			return fmt.Errorf("truncate (force): %w", err)
		}
		r.Forced = forced
	}
	for _, j := range jobs {
		if j.rep.Action == "create+copy" {
			if _, err := tx.Exec(ctx, createTableSQL(o.Schema, j.src, j.uniques, j.fks)); err != nil {
				r.FailedTable = j.src.Name
				return fmt.Errorf("create table %s: %w", j.src.Name, err)
			}
		}
	}
	// Secondary indexes and foreign keys of the tables that were empty
	// are built once after the copy instead of row by row.
	var fill []string
	for _, j := range jobs {
		if j.rep.EmptyBefore && j.rep.SourceRows > 0 {
			fill = append(fill, j.src.Name)
		}
	}
	def, err := deferIndexes(ctx, tx, o.Schema, fill)
	if err != nil {
		return err
	}
	if len(def.indexes) > 0 {
		// Memory for the index builds, for this transaction only (any role may).
		if _, err := tx.Exec(ctx, "SET LOCAL maintenance_work_mem = '256MB'"); err != nil {
			return fmt.Errorf("maintenance_work_mem: %w", err)
		}
	}
	if r.Quarantined > 0 {
		if o.QuarantinePath == "" {
			return fmt.Errorf("%d orphan row(s) to quarantine but no quarantine file", r.Quarantined)
		}
		if _, err := writeQuarantine(ctx, src, o.QuarantinePath, quarantineOf(jobs)); err != nil {
			return err
		}
		r.QuarantineFile = o.QuarantinePath
	}
	var done atomic.Int64
	t0 := time.Now()
	for _, j := range jobs {
		ts := time.Now()
		report := func(n int64) {
			if o.Progress != nil {
				o.Progress(Progress{Phase: "copy", Table: j.src.Name, TableDone: n, TableTotal: j.rep.SourceRows, Done: done.Load(), Total: r.TotalRows})
			}
		}
		if err := copyTable(ctx, src, tx, o.Schema, j, &done, report); err != nil {
			r.FailedTable = j.src.Name
			return err
		}
		j.rep.Alter = j.alterations()
		for _, a := range j.rep.Alter {
			r.Alterations += a.Count
		}
		r.CopiedRows += j.rep.Copied
		j.rep.Seconds = time.Since(ts).Seconds()
	}
	if err := def.restore(ctx, tx); err != nil {
		return err
	}
	r.Durations.Copy = time.Since(t0).Seconds()
	t1 := time.Now()
	for _, j := range jobs {
		if o.Progress != nil {
			o.Progress(Progress{Phase: "verify", Table: j.src.Name, TableTotal: j.rep.SourceRows, Done: r.CopiedRows, Total: r.TotalRows})
		}
		if err := verifyTable(ctx, tx, o.Schema, j); err != nil {
			r.FailedTable = j.src.Name
			return err
		}
	}
	if err := resetSequences(ctx, tx, o.Schema, jobs, r); err != nil {
		return err
	}
	r.Durations.Verify = time.Since(t1).Seconds()
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// resetSequences moves every sequence-backed column's sequence past the
// largest id copied, so the application's next insert does not collide.
func resetSequences(ctx context.Context, tx pgx.Tx, schema string, jobs []*tableJob, r *Report) error {
	rows, err := tx.Query(ctx, `SELECT c.table_name, c.column_name FROM information_schema.columns c
		WHERE c.table_schema = $1 AND (c.column_default LIKE 'nextval(%' OR c.is_identity = 'YES')
		ORDER BY 1, 2`, schema)
	if err != nil {
		return fmt.Errorf("sequences: %w", err)
	}
	type tc struct{ t, c string }
	var cols []tc
	for rows.Next() {
		var x tc
		if err := rows.Scan(&x.t, &x.c); err != nil {
			rows.Close()
			return fmt.Errorf("sequences: %w", err)
		}
		cols = append(cols, x)
	}
	rows.Close()
	copied := map[string]bool{}
	for _, j := range jobs {
		copied[j.src.Name] = j.rep.Copied > 0
	}
	for _, x := range cols {
		if !copied[x.t] {
			continue
		}
		tbl := pgx.Identifier{schema, x.t}.Sanitize()
		col := pgx.Identifier{x.c}.Sanitize()
		q := fmt.Sprintf(`SELECT setval(pg_get_serial_sequence($1, $2), coalesce(max(%s), 1), max(%s) IS NOT NULL) FROM %s`, col, col, tbl)
		if _, err := tx.Exec(ctx, q, tbl, x.c); err != nil {
			return fmt.Errorf("setval %s.%s: %w", x.t, x.c, err)
		}
		r.Sequences = append(r.Sequences, x.t+"."+x.c)
	}
	return nil
}

// Undo empties again the tables a committed migration wrote into that were
// empty before (after a later step failed and the client went back to
// SQLite, or a run was killed before its switch) and deletes exactly the
// rows the schema step seeded, in one transaction. Tables that had rows
// before are never touched.
func Undo(ctx context.Context, rawURL, schema string, written []string, seeded *Seeded) error {
	return pg.Masker(ctx, rawURL).Error(undo(ctx, rawURL, schemaOr(schema), written, seeded))
}

func undo(ctx context.Context, rawURL, schema string, written []string, seeded *Seeded) error {
	if len(written) == 0 && seeded.Count() == 0 {
		return nil
	}
	conn, err := pg.Connect(ctx, rawURL, pg.Options{AppName: "fleetctl-migrate"})
	if err != nil {
		return fmt.Errorf("undo: %w", err)
	}
	defer conn.Close(context.Background())
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("undo: %w", err)
	}
	defer tx.Rollback(context.Background())
	if len(written) > 0 {
		ids := make([]string, len(written))
		for i, n := range written {
			ids[i] = pgx.Identifier{schema, n}.Sanitize()
		}
		if _, err := tx.Exec(ctx, "TRUNCATE "+strings.Join(ids, ", ")); err != nil {
			return fmt.Errorf("undo: truncate: %w", err)
		}
	}
	if _, err := deleteSeeded(ctx, tx, schema, seeded); err != nil {
		return fmt.Errorf("undo: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("undo: commit: %w", err)
	}
	return nil
}

func integrityCheck(ctx context.Context, s *source) error {
	var res string
	if err := s.db.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&res); err != nil {
		return fmt.Errorf("source integrity check: %w", err)
	}
	if res != "ok" {
		return fmt.Errorf("source integrity check: %s", res)
	}
	return nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// srcHas: f is one of SQLite's declared keys.
func srcHas(fks []fkDef, f fkDef) bool {
	for _, x := range fks {
		if x.Child == f.Child && x.Parent == f.Parent && strings.Join(x.Cols, ",") == strings.Join(f.Cols, ",") {
			return true
		}
	}
	return false
}

// udtOf maps the type names createTableSQL uses to udt names.
func udtOf(pgType string) string {
	switch pgType {
	case "boolean":
		return "bool"
	case "bigint":
		return "int8"
	case "double precision":
		return "float8"
	case "timestamp":
		return "timestamp"
	}
	return pgType
}
