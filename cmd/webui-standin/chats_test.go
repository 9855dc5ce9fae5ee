package main

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// A chat's messages land in chat_message the way the app writes them:
// composite ids, content as JSON (a string or a list of blocks), booleans
// as 0/1 in SQLite, timestamps in seconds, the other JSON columns kept.
func TestChatMessagesAreV011Rows(t *testing.T) {
	ts, s := newTestServer(t, nil)
	ms := time.Now().Add(-time.Hour).UnixMilli()
	sec := time.Now().Add(-time.Minute).Unix()
	body := `{"id":"c","user_id":"u1","title":"t","chat":{"history":{"currentId":"m2","messages":{
		"m1":{"id":"m1","role":"user","content":"hi","timestamp":` + strconv.FormatInt(ms, 10) + `},
		"m2":{"id":"m2","parentId":"m1","role":"assistant","model":"llama3","done":false,"timestamp":` + strconv.FormatInt(sec, 10) + `,
			"content":[{"type":"text","text":"yo"}],"usage":{"output_tokens":3},"statusHistory":[{"done":true}]}}},
		"messages":[{"id":"ignored"}]}}`
	var created chatRow
	if code, out := do(t, "POST", ts.URL+"/_standin/chats", body, &created); code != 201 {
		t.Fatalf("create: %d %s", code, out)
	}
	if len(created.Messages) != 2 {
		t.Fatalf("messages: %+v", created.Messages)
	}
	m1, m2 := created.Messages[0], created.Messages[1]
	if m1.ID != "c-m1" || m1.ChatID != "c" || m1.UserID != "u1" || m1.Role != "user" || string(m1.Content) != `"hi"` ||
		!m1.Done || m1.ParentID != nil || m1.CreatedAt != ms/1000 {
		t.Errorf("m1: %+v", m1)
	}
	if m2.ID != "c-m2" || m2.Role != "assistant" || m2.ParentID == nil || *m2.ParentID != "m1" || m2.ModelID == nil ||
		*m2.ModelID != "llama3" || m2.Done || string(m2.Content) != `[{"type":"text","text":"yo"}]` || m2.CreatedAt != sec {
		t.Errorf("m2: %+v", m2)
	}
	// As stored: JSON text, 0/1 integers, seconds.
	got := queryOne(t, s.store.db, `SELECT group_concat(id || ' ' || content || ' ' || typeof(done) || done || ' ' ||
		ifnull(usage, '-') || ' ' || ifnull(status_history, '-') || ' ' || length(created_at), ' | ') FROM (SELECT * FROM chat_message ORDER BY id)`)
	want := `c-m1 "hi" integer1 - - 10 | c-m2 [{"type":"text","text":"yo"}] integer0 {"output_tokens":3} [{"done":true}] 10`
	if got != want {
		t.Errorf("rows:\n%s\nwant\n%s", got, want)
	}
	if v := queryOne(t, s.store.db, `SELECT typeof(archived) || archived || typeof(pinned) || pinned || meta FROM chat`); v != "integer0integer0{}" {
		t.Errorf("chat row: %s", v)
	}

	// A plain messages list: ids from the messages, or their position.
	do(t, "POST", ts.URL+"/_standin/chats", `{"id":"d","chat":{"messages":[{"id":"a","content":"x"},{"content":"y","role":"assistant"}]}}`, nil)
	if v := queryOne(t, s.store.db, `SELECT group_concat(id || '=' || role, ' ') FROM chat_message WHERE chat_id = 'd'`); v != "d-a=user d-msg-2=assistant" {
		t.Errorf("list messages: %s", v)
	}
	for _, bad := range []string{
		`{"id":"e","chat":{"messages":["not an object"]}}`,
		`{"id":"f","chat":{"messages":[{"id":"x"},{"id":"x"}]}}`,
		`{"id":"g","chat":{"messages":[{"done":"yes"}]}}`,
	} {
		if code, out := do(t, "POST", ts.URL+"/_standin/chats", bad, nil); code != 400 || !strings.Contains(out, "chat") {
			t.Errorf("%s: %d %s", bad, code, out)
		}
	}
	if n := queryOne(t, s.store.db, `SELECT count(*) FROM chat WHERE id IN ('e', 'f', 'g')`); n != "0" {
		t.Errorf("refused chats were written: %s", n)
	}
}
