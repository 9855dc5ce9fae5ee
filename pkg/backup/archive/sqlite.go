package archive

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// ErrIntegrity: a SQLite copy fails PRAGMA integrity_check.
var ErrIntegrity = errors.New("integrity check failed")

func openDB(path string, readOnly bool) (*sql.DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(30000)")
	if readOnly {
		q.Set("mode", "ro")
		q.Add("_pragma", "query_only(1)")
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: q.Encode()}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// CopySQLite writes a consistent copy of the live database src to dst with
// VACUUM INTO (one read transaction: a point-in-time snapshot, while the
// client keeps writing in WAL mode), then checks the copy. src is only read.
// dst must not exist.
func CopySQLite(ctx context.Context, src, dst string) error {
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("copy %s: %s already exists", src, dst)
	}
	db, err := openDB(src, false)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dst); err != nil {
		return fmt.Errorf("copy %s: VACUUM INTO: %w", src, err)
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return IntegrityCheck(ctx, dst)
}

// IntegrityCheck runs PRAGMA integrity_check on the SQLite file at path,
// read-only; anything but "ok" is ErrIntegrity with the first problems.
func IntegrityCheck(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("integrity_check %s: %w", path, err)
	}
	db, err := openDB(path, true)
	if err != nil {
		return fmt.Errorf("integrity_check %s: %w", path, err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrIntegrity, path, err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrIntegrity, path, err)
		}
		if s != "ok" {
			problems = append(problems, s)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrIntegrity, path, err)
	}
	if len(problems) > 0 {
		if len(problems) > 5 {
			problems = append(problems[:5], fmt.Sprintf("... and %d more", len(problems)-5))
		}
		return fmt.Errorf("%w: %s: %s", ErrIntegrity, path, strings.Join(problems, "; "))
	}
	return nil
}
