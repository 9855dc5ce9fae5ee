package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

var (
	errNotFound = errors.New("not found")
	errExists   = errors.New("already exists")
)

// chatRow is one row of the chat table, as the test API shows it.
type chatRow struct {
	ID        string          `json:"id"`
	UserID    string          `json:"user_id"`
	Title     string          `json:"title"`
	Chat      json.RawMessage `json:"chat"`
	CreatedAt int64           `json:"created_at"`
	UpdatedAt int64           `json:"updated_at"`
	ShareID   *string         `json:"share_id"`
	Archived  bool            `json:"archived"`
	Pinned    bool            `json:"pinned"`
	Meta      json.RawMessage `json:"meta"`
	FolderID  *string         `json:"folder_id"`
}

// store is what the handlers need from a database. Each backend (SQLite,
// PostgreSQL) implements it and owns its own schema.
type store interface {
	Ping(ctx context.Context) error
	InsertChat(ctx context.Context, c chatRow) error // errExists on a duplicate id
	GetChat(ctx context.Context, id string) (chatRow, error)
	ChatIDs(ctx context.Context) ([]string, error)
	Describe() string // for the start-up log line; never includes credentials
	Close() error     // flushes everything to disk (SQLite: checkpoints the WAL)
}

// openStore opens the configured backend and creates its schema if needed.
func openStore(ctx context.Context, c dbConfig) (store, error) {
	switch c.backend {
	case "sqlite":
		return openSQLite(ctx, c.path)
	case "postgres":
		return openPostgres(ctx, c.url)
	default:
		return nil, fmt.Errorf("backend %q not implemented", c.backend)
	}
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
