package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
)

// chatRow is one row of the chat table as the test API shows it, with the
// chat's chat_message rows.
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
	Messages  []messageRow    `json:"messages"`
}

// messageRow is one chat_message row (the columns the test API shows).
type messageRow struct {
	ID        string          `json:"id"` // "{chat_id}-{message id}", as the app writes it
	ChatID    string          `json:"chat_id"`
	UserID    string          `json:"user_id"`
	Role      string          `json:"role"`
	ParentID  *string         `json:"parent_id"`
	Content   json.RawMessage `json:"content"`
	ModelID   *string         `json:"model_id"`
	Done      bool            `json:"done"`
	CreatedAt int64           `json:"created_at"`
	UpdatedAt int64           `json:"updated_at"`

	// extra holds the other JSON columns a message carried (output, files,
	// sources, …): written, not shown.
	extra map[string]json.RawMessage
}

// messageJSONColumns are chat_message's other JSON columns, with the key
// the app reads each from.
var messageJSONColumns = [][2]string{
	{"output", "output"}, {"files", "files"}, {"sources", "sources"}, {"embeds", "embeds"},
	{"meta", "meta"}, {"status_history", "statusHistory"}, {"error", "error"}, {"usage", "usage"},
}

// InsertChat writes the chat and its messages in one transaction;
// errExists when the chat id is taken.
func (s *store) InsertChat(ctx context.Context, c chatRow) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.clean(err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, s.dialect.bind(`INSERT INTO chat
		(id, user_id, title, chat, created_at, updated_at, archived, pinned, meta)
		VALUES (?, ?, ?, ?j, ?, ?, ?, ?, ?j) ON CONFLICT (id) DO NOTHING`),
		c.ID, c.UserID, c.Title, string(c.Chat), c.CreatedAt, c.UpdatedAt, false, false, "{}")
	if err != nil {
		return s.clean(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return s.clean(err)
	} else if n == 0 {
		return errExists
	}
	for _, m := range c.Messages {
		cols := "id, chat_id, user_id, role, parent_id, content, model_id, done, created_at, updated_at"
		vals := "?, ?, ?, ?, ?, ?j, ?, ?, ?, ?"
		args := []any{m.ID, m.ChatID, m.UserID, m.Role, m.ParentID, rawOrNil(m.Content), m.ModelID, m.Done, m.CreatedAt, m.UpdatedAt}
		for _, jc := range messageJSONColumns {
			if v, ok := m.extra[jc[0]]; ok {
				cols += ", " + jc[0]
				vals += ", ?j"
				args = append(args, string(v))
			}
		}
		if _, err := tx.ExecContext(ctx, s.dialect.bind("INSERT INTO chat_message ("+cols+") VALUES ("+vals+")"), args...); err != nil {
			return s.clean(err)
		}
	}
	return s.clean(tx.Commit())
}

func rawOrNil(v json.RawMessage) any {
	if v == nil {
		return nil
	}
	return string(v)
}

func (s *store) GetChat(ctx context.Context, id string) (chatRow, error) {
	var (
		c                 chatRow
		userID, title     sql.NullString
		chat, meta        sql.NullString
		created, updated  sql.NullInt64
		archived, pinned  sql.NullBool
		shareID, folderID sql.NullString
	)
	err := s.db.QueryRowContext(ctx, s.dialect.bind(`SELECT id, user_id, title, CAST(chat AS TEXT), created_at, updated_at,
		share_id, archived, pinned, CAST(meta AS TEXT), folder_id FROM chat WHERE id = ?`), id).
		Scan(&c.ID, &userID, &title, &chat, &created, &updated, &shareID, &archived, &pinned, &meta, &folderID)
	if errors.Is(err, sql.ErrNoRows) {
		return c, errNotFound
	}
	if err != nil {
		return c, s.clean(err)
	}
	c.UserID, c.Title = userID.String, title.String
	c.Chat, c.Meta = jsonOrString(chat), jsonOrString(meta)
	c.CreatedAt, c.UpdatedAt = created.Int64, updated.Int64
	c.Archived, c.Pinned = archived.Bool, pinned.Bool
	c.ShareID, c.FolderID = nullable(shareID), nullable(folderID)
	c.Messages, err = s.messages(ctx, id)
	return c, err
}

func (s *store) messages(ctx context.Context, chatID string) ([]messageRow, error) {
	rows, err := s.db.QueryContext(ctx, s.dialect.bind(`SELECT id, chat_id, user_id, role, parent_id, CAST(content AS TEXT),
		model_id, done, created_at, updated_at FROM chat_message WHERE chat_id = ? ORDER BY `+s.dialect.byID("id")), chatID)
	if err != nil {
		return nil, s.clean(err)
	}
	defer rows.Close()
	out := []messageRow{}
	for rows.Next() {
		var (
			m                 messageRow
			userID, content   sql.NullString
			parentID, modelID sql.NullString
			done              sql.NullBool
			created, updated  sql.NullInt64
		)
		if err := rows.Scan(&m.ID, &m.ChatID, &userID, &m.Role, &parentID, &content, &modelID, &done, &created, &updated); err != nil {
			return nil, s.clean(err)
		}
		m.UserID, m.Content = userID.String, jsonOrString(content)
		m.ParentID, m.ModelID = nullable(parentID), nullable(modelID)
		m.Done, m.CreatedAt, m.UpdatedAt = done.Bool, created.Int64, updated.Int64
		out = append(out, m)
	}
	return out, s.clean(rows.Err())
}

func (s *store) ChatIDs(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT id FROM chat ORDER BY "+s.dialect.byID("id"))
	if err != nil {
		return nil, s.clean(err)
	}
	defer rows.Close()
	ids := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, s.clean(err)
		}
		ids = append(ids, id)
	}
	return ids, s.clean(rows.Err())
}

func nullable(v sql.NullString) *string {
	if !v.Valid {
		return nil
	}
	return &v.String
}

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
