package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The test-only API under /_standin/: lets tests write and read data (to
// prove it survives container recreation) and inspect what the container got.
func (s *server) registerTestAPI() {
	s.mux.HandleFunc("POST /_standin/chats", s.handleCreateChat)
	s.mux.HandleFunc("GET /_standin/chats", s.handleListChats)
	s.mux.HandleFunc("GET /_standin/chats/{id}", s.handleGetChat)
	s.mux.HandleFunc("POST /_standin/chats/{id}/orphan", s.handleOrphanChat)
	s.mux.HandleFunc("GET /_standin/secret-key-digest", s.handleSecretDigest)
	s.mux.HandleFunc("GET /_standin/env-keys", s.handleEnvKeys)
	s.mux.HandleFunc("GET /_standin/stream", s.handleStream)
	s.mux.HandleFunc("GET /_standin/ws", s.handleWS)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"detail": msg})
}

const maxChatBody = 8 << 20

func (s *server) handleCreateChat(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ID     string          `json:"id"`
		UserID string          `json:"user_id"`
		Title  string          `json:"title"`
		Chat   json.RawMessage `json:"chat"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxChatBody))
	if err := dec.Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return
	}
	if in.ID == "" {
		writeError(w, http.StatusBadRequest, "id is required")
		return
	}
	chat := []byte("{}")
	if len(in.Chat) > 0 && !bytes.Equal(in.Chat, []byte("null")) {
		var buf bytes.Buffer
		if err := json.Compact(&buf, in.Chat); err != nil {
			writeError(w, http.StatusBadRequest, "chat: "+err.Error())
			return
		}
		chat = buf.Bytes()
	}
	now := time.Now().Unix() // Open WebUI: epoch seconds
	row := chatRow{ID: in.ID, UserID: in.UserID, Title: in.Title, Chat: chat, CreatedAt: now, UpdatedAt: now}
	msgs, err := messagesOf(row, now)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	row.Messages = msgs
	err = s.store.InsertChat(r.Context(), row)
	if errors.Is(err, errExists) {
		writeError(w, http.StatusConflict, "chat "+strconv.Quote(in.ID)+" already exists")
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	got, err := s.store.GetChat(r.Context(), in.ID)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusCreated, got)
}

// messagesOf derives the chat's chat_message rows from its JSON the way the
// app fills that table: one row per message of chat.history.messages (or,
// failing that, of a chat.messages list), id "{chat_id}-{message id}",
// content as JSON (a string or a list of blocks), done true unless given,
// created_at from the message's timestamp in seconds (milliseconds are
// converted; anything before 2020 or in the future is now).
func messagesOf(c chatRow, now int64) ([]messageRow, error) {
	var blob struct {
		History struct {
			Messages map[string]map[string]json.RawMessage `json:"messages"`
		} `json:"history"`
		Messages []map[string]json.RawMessage `json:"messages"`
	}
	if len(c.Chat) == 0 || c.Chat[0] != '{' {
		return nil, nil // a chat that is not an object has no messages
	}
	if err := json.Unmarshal(c.Chat, &blob); err != nil {
		return nil, fmt.Errorf("chat: messages: %v", err)
	}
	type keyed struct {
		id  string
		msg map[string]json.RawMessage
	}
	var list []keyed
	if len(blob.History.Messages) > 0 {
		for id, m := range blob.History.Messages {
			list = append(list, keyed{id, m})
		}
		sort.Slice(list, func(i, j int) bool { return list[i].id < list[j].id })
	} else {
		for i, m := range blob.Messages {
			id := "msg-" + strconv.Itoa(i+1)
			json.Unmarshal(m["id"], &id)
			list = append(list, keyed{id, m})
		}
	}
	seen := map[string]bool{}
	out := []messageRow{}
	for _, k := range list {
		if k.msg == nil || seen[k.id] {
			return nil, fmt.Errorf("chat: message %q: missing or given twice", k.id)
		}
		seen[k.id] = true
		m := messageRow{ID: c.ID + "-" + k.id, ChatID: c.ID, UserID: c.UserID, Role: "user", Done: true,
			CreatedAt: now, UpdatedAt: now, extra: map[string]json.RawMessage{}}
		var parent, model string
		var ts float64
		for key, dst := range map[string]any{"role": &m.Role, "parentId": &parent, "parent_id": &parent,
			"model": &model, "model_id": &model, "done": &m.Done, "timestamp": &ts} {
			if v, ok := k.msg[key]; ok && string(v) != "null" {
				if err := json.Unmarshal(v, dst); err != nil {
					return nil, fmt.Errorf("chat: message %q: %s: %v", k.id, key, err)
				}
			}
		}
		if parent != "" {
			m.ParentID = &parent
		}
		if model != "" {
			m.ModelID = &model
		}
		m.CreatedAt = messageTime(ts, now)
		if v, ok := k.msg["content"]; ok && string(v) != "null" {
			m.Content = v // NULL when absent, like the app
		}
		for _, jc := range messageJSONColumns {
			if v, ok := k.msg[jc[1]]; ok && string(v) != "null" {
				m.extra[jc[0]] = v
			}
		}
		out = append(out, m)
	}
	return out, nil
}

func messageTime(ts float64, now int64) int64 {
	if ts > 10_000_000_000 {
		ts /= 1000 // milliseconds
	}
	if ts < 1577836800 || ts > float64(now+86400) {
		return now
	}
	return int64(ts)
}

func (s *server) handleGetChat(w http.ResponseWriter, r *http.Request) {
	c, err := s.store.GetChat(r.Context(), r.PathValue("id"))
	if errors.Is(err, errNotFound) {
		writeError(w, http.StatusNotFound, "chat not found")
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// handleOrphanChat deletes a chat's row but not its messages, as real
// SQLite databases hold them (SQLite never enforces the app's foreign keys):
// migration tests plant orphan chat_message rows with it.
func (s *server) handleOrphanChat(w http.ResponseWriter, r *http.Request) {
	res, err := s.store.db.ExecContext(r.Context(), s.store.dialect.bind(`DELETE FROM chat WHERE id = ?`), r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusInternalServerError, s.store.clean(err).Error())
		return
	}
	n, _ := res.RowsAffected()
	writeJSON(w, http.StatusOK, map[string]any{"deleted": n})
}

func (s *server) handleListChats(w http.ResponseWriter, r *http.Request) {
	ids, err := s.store.ChatIDs(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": len(ids), "ids": ids})
}

// handleSecretDigest proves which WEBUI_SECRET_KEY the container got without
// revealing it.
func (s *server) handleSecretDigest(w http.ResponseWriter, r *http.Request) {
	d := ""
	if s.cfg.secretKey != "" {
		sum := sha256.Sum256([]byte(s.cfg.secretKey))
		d = hex.EncodeToString(sum[:])
	}
	writeJSON(w, http.StatusOK, map[string]string{"sha256": d})
}

// handleEnvKeys returns the sorted names (never the values) of the
// environment variables, as a JSON array.
func (s *server) handleEnvKeys(w http.ResponseWriter, r *http.Request) {
	keys := []string{}
	seen := map[string]bool{}
	for _, kv := range s.environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k != "" && !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	writeJSON(w, http.StatusOK, keys)
}

// handleStream sends n server-sent-event lines "data: i" (i = 1..n), flushing
// after each. It deliberately sets no X-Accel-Buffering header, so a proxy
// test sees the proxy's own buffering configuration.
func (s *server) handleStream(w http.ResponseWriter, r *http.Request) {
	n, interval := 5, 200*time.Millisecond
	q := r.URL.Query()
	if v := q.Get("n"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 0 || n > 100000 {
			writeError(w, http.StatusBadRequest, "n: want an integer 0..100000")
			return
		}
	}
	if v := q.Get("interval"); v != "" {
		var err error
		if interval, err = time.ParseDuration(v); err != nil || interval < 0 || interval > time.Minute {
			writeError(w, http.StatusBadRequest, "interval: want a Go duration 0..1m")
			return
		}
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for i := 1; i <= n; i++ {
		if i > 1 {
			t.Reset(interval)
			select {
			case <-t.C:
			case <-r.Context().Done():
				return
			case <-s.stop:
				return
			}
		}
		if _, err := fmt.Fprintf(w, "data: %d\n\n", i); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}
