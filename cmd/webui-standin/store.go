package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // pure-Go SQLite driver "sqlite"
)

var (
	errNotFound = errors.New("not found")
	errExists   = errors.New("already exists")
	errDBDown   = errors.New("database unreachable (STANDIN_DB_DOWN is set)")
)

// store is the stand-in's database: SQLite in the data volume or
// PostgreSQL, behind database/sql, with the SQL both dialects share. Only
// a few statements differ; dialect says how.
type store struct {
	db       *sql.DB
	dialect  dialect
	desc     string // for the start-up line; never holds credentials
	password string // PostgreSQL password, scrubbed from every error
}

// dialect is what differs between SQLite and PostgreSQL for this program.
type dialect interface {
	// bind rewrites a query written with ? (a value) and ?j (a JSON value)
	// placeholders into the driver's form.
	bind(query string) string
	// byID is the ORDER BY of text ids, byte-wise on both.
	byID(col string) string
	// schemaPresent reports whether alembic_version exists.
	schemaPresent(ctx context.Context, tx *sql.Tx) (bool, error)
	// createSchema creates the real v0.11.0 tables in tx.
	createSchema(ctx context.Context, tx *sql.Tx) error
	// lock serialises the start-ups of several stand-ins on one database.
	lock(ctx context.Context, tx *sql.Tx) error
}

// sqlitePragmas run on every new connection (modernc's _pragma DSN key).
// temp_store=memory: a FROM scratch image has no /tmp.
var sqlitePragmas = []string{
	"busy_timeout(5000)",
	"journal_mode(WAL)",
	"temp_store(memory)",
}

func sqliteDSN(path string) string {
	q := url.Values{"_pragma": sqlitePragmas}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: q.Encode()}
	return u.String()
}

// openStore opens the configured backend and checks that it answers.
func openStore(ctx context.Context, c dbConfig) (*store, error) {
	switch c.backend {
	case "sqlite":
		if err := os.MkdirAll(filepath.Dir(c.path), 0o755); err != nil {
			return nil, err
		}
		db, err := sql.Open("sqlite", sqliteDSN(c.path))
		if err != nil {
			return nil, err
		}
		db.SetMaxIdleConns(2)
		return pingNew(ctx, &store{db: db, dialect: sqliteDialect{}, desc: "sqlite " + c.path})
	case "postgres":
		cfg, err := pgx.ParseConfig(c.url)
		if err != nil {
			return nil, errors.New("DATABASE_URL: invalid PostgreSQL URL")
		}
		// Works behind a transaction pooler too: no prepared statements.
		cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
		cfg.ConnectTimeout = 10 * time.Second
		db := stdlib.OpenDB(*cfg)
		db.SetMaxOpenConns(4)
		db.SetConnMaxIdleTime(time.Minute)
		desc := fmt.Sprintf("postgresql %s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)
		return pingNew(ctx, &store{db: db, dialect: pgDialect{}, desc: desc, password: cfg.Password})
	default:
		return nil, fmt.Errorf("backend %q not implemented", c.backend)
	}
}

func pingNew(ctx context.Context, s *store) (*store, error) {
	if err := s.Ping(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("connect %s: %w", s.desc, err)
	}
	return s, nil
}

func (s *store) Describe() string { return s.desc }

// Ping is the app's database ping: SELECT 1 on a connection of the pool.
func (s *store) Ping(ctx context.Context) error {
	var one int
	return s.clean(s.db.QueryRowContext(ctx, "SELECT 1").Scan(&one))
}

// Close waits for running queries, then closes every connection; for SQLite
// closing the last one checkpoints the WAL into webui.db and removes -wal.
func (s *store) Close() error { return s.db.Close() }

// clean keeps the PostgreSQL password out of an error's text.
func (s *store) clean(err error) error {
	if err == nil || s.password == "" {
		return err
	}
	msg := err.Error()
	for _, v := range []string{s.password, url.QueryEscape(s.password), url.PathEscape(s.password)} {
		if v != "" && strings.Contains(msg, v) {
			return errors.New(strings.ReplaceAll(msg, v, "****"))
		}
	}
	return err
}

type sqliteDialect struct{}

func (sqliteDialect) bind(q string) string   { return strings.ReplaceAll(q, "?j", "?") }
func (sqliteDialect) byID(col string) string { return col } // BINARY collation
func (sqliteDialect) lock(context.Context, *sql.Tx) error {
	return nil // one writer at a time anyway; the transaction is enough
}

func (sqliteDialect) schemaPresent(ctx context.Context, tx *sql.Tx) (bool, error) {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'`).Scan(&n)
	return n > 0, err
}

type pgDialect struct{}

// bind numbers the placeholders ($1, $2, …) and casts JSON values.
func (pgDialect) bind(q string) string {
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] != '?' {
			b.WriteByte(q[i])
			continue
		}
		n++
		b.WriteString("$" + strconv.Itoa(n))
		if i+1 < len(q) && q[i+1] == 'j' {
			b.WriteString("::json")
			i++
		}
	}
	return b.String()
}

func (pgDialect) byID(col string) string { return col + ` COLLATE "C"` }

func (pgDialect) lock(ctx context.Context, tx *sql.Tx) error {
	// Two stand-ins starting at once on one database must not race on CREATE TABLE.
	_, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(727272)")
	return err
}

func (pgDialect) schemaPresent(ctx context.Context, tx *sql.Tx) (bool, error) {
	var ok bool
	err := tx.QueryRowContext(ctx, `SELECT to_regclass('public.alembic_version') IS NOT NULL`).Scan(&ok)
	return ok, err
}

// writeDataDirMarker does what Open WebUI does on start, harmlessly: it
// creates its own entries in the data directory (uploads/ and a marker file
// written only once, so restarts leave the volume's files unchanged).
func writeDataDirMarker(dataDir string) error {
	if err := os.MkdirAll(filepath.Join(dataDir, "uploads"), 0o755); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	p := filepath.Join(dataDir, ".webui-standin")
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	_, err = f.WriteString("Written by the fleetctl Open WebUI stand-in (NOT Open WebUI).\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
