package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite" // pure-Go SQLite driver "sqlite"
)

// sqlitePragmas run on every new connection (modernc's _pragma DSN key).
// temp_store=memory: a FROM scratch image has no /tmp.
var sqlitePragmas = []string{
	"busy_timeout(5000)",
	"journal_mode(WAL)",
	"temp_store(memory)",
}

type sqliteStore struct {
	db   *sql.DB
	path string
}

func sqliteDSN(path string) string {
	q := url.Values{"_pragma": sqlitePragmas}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: q.Encode()}
	return u.String()
}

func openSQLite(ctx context.Context, path string) (*sqliteStore, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", sqliteDSN(path))
	if err != nil {
		return nil, err
	}
	db.SetMaxIdleConns(2)
	s := &sqliteStore{db: db, path: path}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

func (s *sqliteStore) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, stmt := range sqliteSchema {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("schema: %w", err)
		}
	}
	return tx.Commit()
}

func (s *sqliteStore) Describe() string { return "sqlite " + s.path }

func (s *sqliteStore) Ping(ctx context.Context) error {
	var one int
	return s.db.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

func (s *sqliteStore) InsertChat(ctx context.Context, c chatRow) error {
	res, err := s.db.ExecContext(ctx, `INSERT INTO chat
		(id, user_id, title, chat, created_at, updated_at, archived, pinned, meta)
		VALUES (?, ?, ?, ?, ?, ?, 0, 0, '{}') ON CONFLICT (id) DO NOTHING`,
		c.ID, c.UserID, c.Title, string(c.Chat), c.CreatedAt, c.UpdatedAt)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return errExists
	}
	return nil
}

func (s *sqliteStore) GetChat(ctx context.Context, id string) (chatRow, error) {
	var (
		c                 chatRow
		userID, title     sql.NullString
		chat, meta        sql.NullString
		created, updated  sql.NullInt64
		archived, pinned  sql.NullInt64
		shareID, folderID sql.NullString
	)
	err := s.db.QueryRowContext(ctx, `SELECT id, user_id, title, chat, created_at, updated_at,
		share_id, archived, pinned, meta, folder_id FROM chat WHERE id = ?`, id).
		Scan(&c.ID, &userID, &title, &chat, &created, &updated, &shareID, &archived, &pinned, &meta, &folderID)
	if errors.Is(err, sql.ErrNoRows) {
		return c, errNotFound
	}
	if err != nil {
		return c, err
	}
	c.UserID, c.Title = userID.String, title.String
	c.Chat, c.Meta = jsonOrString(chat), jsonOrString(meta)
	c.CreatedAt, c.UpdatedAt = created.Int64, updated.Int64
	c.Archived, c.Pinned = archived.Int64 != 0, pinned.Int64 != 0
	if shareID.Valid {
		c.ShareID = &shareID.String
	}
	if folderID.Valid {
		c.FolderID = &folderID.String
	}
	return c, nil
}

func (s *sqliteStore) ChatIDs(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT id FROM chat ORDER BY id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ids := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// Close waits for running queries, then closes every connection; closing the
// last one checkpoints the WAL into webui.db and removes the -wal file.
func (s *sqliteStore) Close() error { return s.db.Close() }

// jsonOrString shows a JSON text column as JSON when it is valid, else as a
// JSON string (rows written by other tools may hold anything), null if NULL.
func jsonOrString(v sql.NullString) json.RawMessage {
	if !v.Valid {
		return json.RawMessage("null")
	}
	if json.Valid([]byte(v.String)) {
		return json.RawMessage(v.String)
	}
	b, _ := json.Marshal(v.String)
	return b
}
