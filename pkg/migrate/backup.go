package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/quantabase/fleetctl/pkg/pg"
)

// TargetCheck is what CheckTarget found.
type TargetCheck struct {
	ServerVersion string   `json:"serverVersion"`
	PGVector      bool     `json:"pgvector"`
	Tables        []string `json:"tables"`   // base tables of the schema
	NonEmpty      []string `json:"nonEmpty"` // tables holding rows (app bookkeeping tables excluded)
	Warnings      []string `json:"warnings,omitempty"`
}

// CheckTarget is the target half of the preflight, run before any downtime
// (there is no SQLite copy yet): connect (a wrong password fails here, never
// echoed), server version, the vector extension when wanted (a warning), and
// the target empty or holding only the schema the application created. A
// table with rows is ErrTargetNotEmpty unless force. The server's messages
// are masked (pg.Masker) before they leave.
func CheckTarget(ctx context.Context, rawURL, schema string, wantVector, force bool) (*TargetCheck, error) {
	c, err := checkTarget(ctx, rawURL, schema, wantVector, force)
	return c, pg.Masker(ctx, rawURL).Error(err)
}

func checkTarget(ctx context.Context, rawURL, schema string, wantVector, force bool) (*TargetCheck, error) {
	if schema == "" {
		schema = "public"
	}
	conn, err := pg.Connect(ctx, rawURL, pg.Options{AppName: "fleetctl-migrate"})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPreflight, err)
	}
	defer conn.Close(context.Background())
	in, err := pg.ServerInfo(ctx, conn)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPreflight, err)
	}
	c := &TargetCheck{ServerVersion: in.ServerVersion, PGVector: in.PGVector, Tables: []string{}, NonEmpty: []string{}}
	if in.ServerVersionNum < 120000 {
		return c, fmt.Errorf("%w: PostgreSQL %s is too old (need 12 or later)", ErrPreflight, in.ServerVersion)
	}
	if wantVector && !in.PGVector {
		msg := "the vector extension is not installed in the target database (CREATE EXTENSION vector)"
		if !in.PGVectorAvailable {
			msg = "the vector extension is not available on the server (pgvector was asked for)"
		}
		c.Warnings = append(c.Warnings, msg)
	}
	if c.Tables, err = pg.TableNames(ctx, conn, schema); err != nil {
		return c, fmt.Errorf("%w: %w", ErrPreflight, err)
	}
	skip := make([]string, 0, len(appTables))
	for t := range appTables {
		skip = append(skip, t)
	}
	ne, err := pg.NonEmpty(ctx, conn, schema, skip...)
	if err != nil {
		return c, fmt.Errorf("%w: %w", ErrPreflight, err)
	}
	c.NonEmpty = append(c.NonEmpty, ne...)
	if len(ne) > 0 && !force {
		return c, fmt.Errorf("%w: table(s) %s already hold rows (refusing to write into them; --force empties them first)",
			ErrTargetNotEmpty, strings.Join(ne, ", "))
	}
	return c, nil
}

// PrepareBackup makes the SQLite copy at path (copied out of a stopped
// client together with its -wal and -shm) a self-contained, verified
// backup: the write-ahead log is checkpointed into the COPY (the client's
// own files are never opened), then PRAGMA integrity_check must say ok.
// Afterwards path is one file; its -wal and -shm are gone.
func PrepareBackup(ctx context.Context, path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return fmt.Errorf("backup %s: %w", path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("backup %s: %w", path, err)
	}
	defer conn.Close()
	var mode string
	if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("backup %s: not a readable SQLite database: %w", path, err)
	}
	if strings.EqualFold(mode, "wal") {
		var busy, logFrames, ckpt int
		if err := conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &ckpt); err != nil {
			return fmt.Errorf("backup %s: checkpoint the copied write-ahead log: %w", path, err)
		}
		if busy != 0 {
			return fmt.Errorf("backup %s: checkpoint of the copied write-ahead log did not complete", path)
		}
	}
	rows, err := conn.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return fmt.Errorf("backup %s: integrity_check: %w", path, err)
	}
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return fmt.Errorf("backup %s: integrity_check: %w", path, err)
		}
		if s != "ok" {
			problems = append(problems, s)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("backup %s: integrity_check: %w", path, err)
	}
	if len(problems) > 0 {
		if len(problems) > 5 {
			problems = append(problems[:5], fmt.Sprintf("... and %d more", len(problems)-5))
		}
		return fmt.Errorf("%w: the copy of webui.db fails PRAGMA integrity_check: %s", ErrIntegrity, strings.Join(problems, "; "))
	}
	if _, err := conn.ExecContext(ctx, "PRAGMA journal_mode=DELETE"); err != nil {
		return fmt.Errorf("backup %s: %w", path, err)
	}
	conn.Close()
	if err := db.Close(); err != nil {
		return fmt.Errorf("backup %s: %w", path, err)
	}
	for _, sfx := range []string{"-wal", "-shm"} {
		if err := os.Remove(path + sfx); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("backup %s: %w", path, err)
		}
	}
	return nil
}

// ErrIntegrity: the SQLite copy is damaged (PRAGMA integrity_check).
var ErrIntegrity = errors.New("integrity check failed")

// TableCounts lists the user tables of a SQLite file with their row counts,
// opening it read-only (a dry run's estimate from a copy).
func TableCounts(ctx context.Context, path string) ([]TableReport, error) {
	src, err := openSource(ctx, path)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	ts, err := src.tables(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]TableReport, 0, len(ts))
	for _, t := range ts {
		out = append(out, TableReport{Name: t.Name, SourceRows: t.Rows})
	}
	return out, nil
}
