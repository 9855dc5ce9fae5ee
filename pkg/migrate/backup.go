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
)

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
