package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quantabase/fleetctl/pkg/pg/pgtest"
	_ "modernc.org/sqlite"
)

// fleetctl sync-node runs until its context ends, replicates while leading,
// serves its health without secrets, and releases the lease on the way out.
func TestSyncNodeVerb(t *testing.T) {
	if why := pgtest.Available(); why != "" {
		t.Skip(why)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := pgtest.Start(ctx, pgtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	db, err := srv.CreateDatabase(ctx, "syncnode")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "webui.db")
	app, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(wal)")
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	if _, err := app.Exec(`CREATE TABLE chat (id TEXT PRIMARY KEY, title TEXT, updated_at BIGINT); INSERT INTO chat VALUES ('c1', 'hi', 1)`); err != nil {
		t.Fatal(err)
	}
	const token = "node-Admin-T0ken-77"
	t.Setenv(envSyncURL, srv.URL(db))
	t.Setenv(envSyncToken, token)
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()

	var out, errb syncBuffer
	nctx, stop := context.WithCancel(ctx)
	done := make(chan int)
	go func() {
		done <- dispatch(nctx, &cliEnv{stdin: strings.NewReader(""), stdout: &out, stderr: &errb},
			[]string{"sync-node", "--node-id", "node-x", "--listen", addr, "--client", "acme=" + path, "--lease", "2s", "--renew", "500ms"})
	}()
	var h struct {
		Role    string `json:"role"`
		Clients []struct {
			LastSync *time.Time `json:"lastSync"`
		} `json:"clients"`
	}
	var body []byte
	for ctx.Err() == nil {
		if resp, err := http.Get("http://" + addr + "/health"); err == nil {
			body = readAll(resp)
			if json.Unmarshal(body, &h) == nil && h.Role == "leader" && len(h.Clients) == 1 && h.Clients[0].LastSync != nil {
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if strings.Contains(string(body), token) || strings.Contains(string(body), pgtest.Password) {
		t.Errorf("health shows a secret: %s", body)
	}
	if got, err := srv.Psql(ctx, db, `SELECT title FROM client_acme.chat`); err != nil || got != "hi" {
		t.Errorf("replicated %q %v", got, err)
	}
	// sync status reads the same state from PostgreSQL.
	dir := t.TempDir()
	fy := filepath.Join(dir, "fleet.yaml")
	os.WriteFile(filepath.Join(dir, "seed"), []byte("s33d\n"), 0o600)
	os.WriteFile(fy, []byte("apiVersion: fleetctl/v1\nfleet: synctest\nsecretKeySeed: ${file:./seed}\n"+
		"sync:\n  target:\n    url: ${env:"+envSyncURL+"}\nclients:\n  - name: acme\n    port: 8081\n  - name: beta\n    port: 8082\n"), 0o644)
	r := runCLI(t, "sync", "status", "-f", fy, "--json")
	var st struct {
		Leader  string
		Term    int64
		Clients []struct {
			Name     string
			LastSync *time.Time
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); r.code != exitOK || err != nil || st.Leader != "node-x" || st.Term != 1 ||
		len(st.Clients) != 2 || st.Clients[0].LastSync == nil || st.Clients[1].LastSync != nil {
		t.Errorf("sync status --json: %d %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	if r := runCLI(t, "sync", "status", "-f", fy); r.code != exitOK || !strings.Contains(r.stdout, "Leader: node-x") || strings.Contains(r.stdout, pgtest.Password) {
		t.Errorf("sync status: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	stop()
	if code := <-done; code != exitOK {
		t.Errorf("exit %d: %s", code, errb.String())
	}
	if got, _ := srv.Psql(ctx, db, `SELECT expires_at < now() FROM sync_metadata.lease`); got != "t" {
		t.Errorf("lease not released: %s", got)
	}
	if strings.Contains(errb.String(), token) || strings.Contains(errb.String(), pgtest.Password) {
		t.Errorf("log shows a secret:\n%s", errb.String())
	}
	if r := runCLI(t, "sync-node", "--node-id", "x", "--client", "nopath"); r.code != exitError || !strings.Contains(r.stderr, "NAME=PATH") {
		t.Errorf("bad --client: %d %s", r.code, r.stderr)
	}
}

func readAll(resp *http.Response) []byte {
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return b.Bytes()
}
