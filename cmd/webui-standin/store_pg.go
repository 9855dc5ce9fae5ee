package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgStore keeps the stand-in's data in PostgreSQL. One connection, used by
// one request at a time, is plenty for a test stand-in and needs no pool.
type pgStore struct {
	mu   sync.Mutex
	conn *pgx.Conn
	cfg  *pgx.ConnConfig
	desc string
}

func openPostgres(ctx context.Context, raw string) (*pgStore, error) {
	cfg, err := pgx.ParseConfig(raw)
	if err != nil {
		return nil, errors.New("DATABASE_URL: invalid PostgreSQL URL")
	}
	// Works behind a transaction pooler too: no prepared statements.
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	cfg.ConnectTimeout = 10 * time.Second
	s := &pgStore{cfg: cfg, desc: fmt.Sprintf("postgresql %s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)}
	if err := s.connect(ctx); err != nil {
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		s.conn.Close(context.Background())
		return nil, err
	}
	return s, nil
}

func (s *pgStore) connect(ctx context.Context) error {
	conn, err := pgx.ConnectConfig(ctx, s.cfg)
	if err != nil {
		return fmt.Errorf("connect %s: %w", s.desc, scrubPassword(err, s.cfg.Password))
	}
	s.conn = conn
	return nil
}

// migrate creates the schema in one transaction, like an app's migrations on
// first start; an existing schema is left alone.
func (s *pgStore) migrate(ctx context.Context) error {
	tx, err := s.conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background())
	// Two stand-ins starting at once must not race on CREATE TABLE.
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(727272)"); err != nil {
		return fmt.Errorf("schema lock: %w", err)
	}
	for _, stmt := range pgSchema {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("schema: %w", err)
		}
	}
	return tx.Commit(ctx)
}

// with runs f on the connection, reconnecting once if it was lost (the
// server restarted, a test stopped it).
func (s *pgStore) with(ctx context.Context, f func(*pgx.Conn) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil || s.conn.IsClosed() {
		if err := s.connect(ctx); err != nil {
			return err
		}
	}
	return f(s.conn)
}

func (s *pgStore) Describe() string { return s.desc }

func (s *pgStore) Ping(ctx context.Context) error {
	return s.with(ctx, func(c *pgx.Conn) error {
		var one int
		return c.QueryRow(ctx, "SELECT 1").Scan(&one)
	})
}

func (s *pgStore) InsertChat(ctx context.Context, c chatRow) error {
	return s.with(ctx, func(conn *pgx.Conn) error {
		tag, err := conn.Exec(ctx, `INSERT INTO chat
			(id, user_id, title, chat, created_at, updated_at, archived, pinned, meta)
			VALUES ($1, $2, $3, $4::json, $5, $6, false, false, '{}') ON CONFLICT (id) DO NOTHING`,
			c.ID, c.UserID, c.Title, string(c.Chat), c.CreatedAt, c.UpdatedAt)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errExists
		}
		return nil
	})
}

func (s *pgStore) GetChat(ctx context.Context, id string) (chatRow, error) {
	var c chatRow
	err := s.with(ctx, func(conn *pgx.Conn) error {
		var (
			userID, title, chat, meta *string
			shareID, folderID         *string
			created, updated          *int64
			archived, pinned          *bool
		)
		err := conn.QueryRow(ctx, `SELECT id, user_id, title, chat::text, created_at, updated_at,
			share_id, archived, pinned, meta::text, folder_id FROM chat WHERE id = $1`, id).
			Scan(&c.ID, &userID, &title, &chat, &created, &updated, &shareID, &archived, &pinned, &meta, &folderID)
		if errors.Is(err, pgx.ErrNoRows) {
			return errNotFound
		}
		if err != nil {
			return err
		}
		c.UserID, c.Title = deref(userID), deref(title)
		c.Chat, c.Meta = jsonOrString(nullString(chat)), jsonOrString(nullString(meta))
		if created != nil {
			c.CreatedAt = *created
		}
		if updated != nil {
			c.UpdatedAt = *updated
		}
		c.Archived = archived != nil && *archived
		c.Pinned = pinned != nil && *pinned
		c.ShareID, c.FolderID = shareID, folderID
		return nil
	})
	return c, err
}

func (s *pgStore) ChatIDs(ctx context.Context) ([]string, error) {
	var ids []string
	err := s.with(ctx, func(conn *pgx.Conn) error {
		rows, err := conn.Query(ctx, "SELECT id FROM chat ORDER BY id COLLATE \"C\"")
		if err != nil {
			return err
		}
		ids, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if ids == nil {
		ids = []string{}
	}
	return ids, err
}

func (s *pgStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return s.conn.Close(ctx)
}

func nullString(p *string) sql.NullString {
	if p == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: *p, Valid: true}
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// scrubPassword keeps the password out of error messages.
func scrubPassword(err error, pw string) error {
	if pw == "" {
		return err
	}
	msg := err.Error()
	for _, v := range []string{pw, url.QueryEscape(pw), url.PathEscape(pw)} {
		if v != "" && strings.Contains(msg, v) {
			return errors.New(strings.ReplaceAll(msg, v, "****"))
		}
	}
	return err
}
