package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quantabase/fleetctl/pkg/pg/pgtest"
)

// Integration tests of the SQLite → PostgreSQL migration as a planned
// action: the real fleetctl binary, the real Docker engine, the stand-in
// image and a real PostgreSQL (one per test, listening on the Docker bridge
// gateway so the stand-in container can reach it).

func startPG(t *testing.T) (*pgtest.Server, string) {
	t.Helper()
	requireDocker(t)
	if why := pgtest.Available(); why != "" {
		t.Fatalf("PostgreSQL is needed: %s", why)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := pgtest.Start(ctx, pgtest.Options{Bridge: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	// fleetctl on the host reaches the bridge gateway from whatever source
	// address the host routes from: let password logins in from anywhere
	// the server listens (127.0.0.1 and the bridge gateway only).
	hba, err := os.OpenFile(filepath.Join(srv.DataDir, "pg_hba.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	hba.WriteString("host all all 0.0.0.0/0 scram-sha-256\n")
	hba.Close()
	if _, err := srv.Psql(ctx, "postgres", "SELECT pg_reload_conf()"); err != nil {
		t.Fatal(err)
	}
	db, err := srv.CreateDatabase(ctx, "mig")
	if err != nil {
		t.Fatal(err)
	}
	return srv, db
}

type chat struct {
	ID     string          `json:"id"`
	UserID string          `json:"user_id"`
	Title  string          `json:"title"`
	Chat   json.RawMessage `json:"chat"`
}

// seedChats writes chats through the stand-in and returns them as read back.
func seedChats(t *testing.T, port int) map[string]string {
	t.Helper()
	in := []chat{
		{ID: "chat-plain", UserID: "u1", Title: "hello", Chat: json.RawMessage(`{"messages":[{"role":"user","content":"hi"}]}`)},
		{ID: "chat-unicode", UserID: "u1", Title: "émoji 🚀 日本語", Chat: json.RawMessage(`{"messages":[{"content":"ünïcödé ✓"}]}`)},
		{ID: "chat-nul", UserID: "u2", Title: "before\u0000after", Chat: json.RawMessage(`{"messages":[]}`)},
	}
	for _, c := range in {
		postJSON(t, port, "/_standin/chats", c)
	}
	return readChats(t, port, in)
}

func readChats(t *testing.T, port int, in []chat) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, c := range in {
		var got map[string]any
		if code := getJSON(t, port, "/_standin/chats/"+c.ID, &got); code != 200 {
			t.Fatalf("GET chat %s: HTTP %d", c.ID, code)
		}
		b, _ := json.Marshal(got)
		out[c.ID] = string(b)
	}
	return out
}

var seededIDs = []chat{{ID: "chat-plain"}, {ID: "chat-unicode"}, {ID: "chat-nul"}}

// volumeFileSHA reads a file of a container's volume through docker cp.
func volumeFileSHA(t *testing.T, ctr, path string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("docker", "cp", ctr+":"+path, dir).CombinedOutput(); err != nil {
		t.Fatalf("docker cp %s:%s: %v: %s", ctr, path, err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, filepath.Base(path)))
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func volumeFiles(t *testing.T, ctr string) string {
	// A throw-away reader of the volume (the stand-in image has no shell).
	dir := t.TempDir()
	if out, err := exec.Command("docker", "cp", ctr+":/app/backend/data/.", dir).CombinedOutput(); err != nil {
		t.Fatalf("docker cp: %v: %s", err, out)
	}
	var names []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return strings.Join(names, " ")
}

var shaLine = regexp.MustCompile(`webui\.db out \(\d+ bytes, sha256 ([0-9a-f]{64})\)`)

func (f *testFleet) writeDB(cs []clientDef, url string) {
	f.t.Helper()
	f.t.Setenv("IT_DB_URL", url)
	cs[0].extra = "    database:\n      backend: postgres\n      url: ${env:IT_DB_URL}\n"
	f.write(cs, "")
}

func noPassword(t *testing.T, what, text string) {
	t.Helper()
	for _, pw := range []string{pgtest.Password, "wrong-Pa55word-x"} {
		if strings.Contains(text, pw) {
			t.Fatalf("%s printed a database password:\n%s", what, text)
		}
	}
}

func TestMigrateSQLiteToPostgresEndToEnd(t *testing.T) {
	srv, db := startPG(t)
	f := newTestFleet(t, 1)
	cs := f.clients()
	f.write(cs, "")
	f.mustApply()
	before := seedChats(t, cs[0].port)

	f.writeDB(cs, srv.BridgeURL(db))
	r := f.run("plan", "--detailed-exitcode")
	noPassword(t, "plan", r.all())
	if r.code != 2 || !strings.Contains(r.stdout, "-/+ container "+f.ctr("c0")+" (client c0): migrate the database from SQLite to PostgreSQL") ||
		!strings.Contains(r.stdout, "database.backend changed: sqlite → postgres") ||
		!strings.Contains(r.stdout, "downtime:") || !strings.Contains(r.stdout, "db migrate c0 --dry-run") {
		t.Fatalf("plan: exit %d\n%s", r.code, r.all())
	}
	r = f.run("plan", "--json")
	if !strings.Contains(r.stdout, `"kind": "migrate-database"`) {
		t.Fatalf("plan --json:\n%s", r.stdout)
	}

	// The dry run counts rows from a copy and changes nothing.
	id := containerID(t, f.ctr("c0"))
	r = f.run("db", "migrate", "c0", "--dry-run")
	noPassword(t, "dry run", r.all())
	if r.code != 0 || !regexp.MustCompile(`chat\s+3`).MatchString(r.stdout) || !strings.Contains(r.stdout, "estimate") {
		t.Fatalf("dry run: exit %d\n%s", r.code, r.all())
	}
	if containerID(t, f.ctr("c0")) != id || dockerCLI(t, "inspect", "--format", "{{.State.Running}}", f.ctr("c0")) != "true" {
		t.Fatal("the dry run touched the container")
	}

	backups := filepath.Join(f.dir, "backups")
	r = f.run("apply", "--auto-approve", "--backup-dir", backups)
	noPassword(t, "apply", r.all())
	if r.code != 0 {
		t.Fatalf("apply: exit %d\n%s", r.code, r.all())
	}
	t.Logf("apply:\n%s", r.all())
	if !strings.Contains(r.stdout, "chat.title: nul-removed x1") {
		t.Fatalf("apply output does not report the NUL removal:\n%s", r.stdout)
	}
	m := shaLine.FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("no sha256 of webui.db in the output:\n%s", r.stdout)
	}

	// Read back through the app, now on PostgreSQL.
	var keys []string
	getJSON(t, cs[0].port, "/_standin/env-keys", &keys)
	if !strings.Contains(strings.Join(keys, ","), "DATABASE_URL") {
		t.Fatalf("the container has no DATABASE_URL: %v", keys)
	}
	after := readChats(t, cs[0].port, seededIDs)
	for id, b := range before {
		want := b
		if id == "chat-nul" {
			want = strings.Replace(b, `before\u0000after`, "beforeafter", 1)
		}
		if after[id] != want {
			t.Errorf("chat %s differs after the migration:\n before %s\n after  %s", id, b, after[id])
		}
	}
	// webui.db in the volume is byte-identical; backups exist.
	if got := volumeFileSHA(t, f.ctr("c0"), "/app/backend/data/webui.db"); got != m[1] {
		t.Fatalf("webui.db in the volume changed: %s -> %s", m[1], got)
	}
	if files := volumeFiles(t, f.ctr("c0")); !regexp.MustCompile(`webui-backup-\d{8}T\d{6}Z\.db`).MatchString(files) || !strings.Contains(files, "fleetctl-migration.json") {
		t.Fatalf("volume files: %s", files)
	}
	local, _ := filepath.Glob(filepath.Join(backups, f.name, "c0", "webui-*.db"))
	if len(local) != 1 {
		t.Fatalf("local backups: %v", local)
	}
	r = f.run("db", "show", "c0", "--json", "--backup-dir", backups)
	noPassword(t, "db show", r.all())
	var show struct {
		Backend  string `json:"backend"`
		Postgres struct {
			Reachable     bool   `json:"reachable"`
			ServerVersion string `json:"serverVersion"`
			URL           string `json:"url"`
		} `json:"postgres"`
		Last *struct {
			CopiedRows  int64    `json:"copiedRows"`
			Alterations []string `json:"alterations"`
		} `json:"lastMigration"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &show); err != nil || show.Backend != "postgres" || !show.Postgres.Reachable ||
		!strings.Contains(show.Postgres.URL, "****") || show.Last == nil || show.Last.CopiedRows < 3 {
		t.Fatalf("db show: %v\n%s", err, r.all())
	}
	if r := f.run("plan", "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("plan after the migration: exit %d\n%s", r.code, r.all())
	}

	// Back to sqlite is refused with a way out.
	cs[0].extra = ""
	f.write(cs, "")
	r = f.run("plan")
	if r.code != 1 || !strings.Contains(r.stdout, "postgres → sqlite") || !strings.Contains(r.stdout, "webui-backup-<timestamp>.db") {
		t.Fatalf("postgres → sqlite: exit %d\n%s", r.code, r.all())
	}
}

// migrateSetup applies one sqlite client with data and returns it.
func migrateSetup(t *testing.T) (*testFleet, []clientDef, map[string]string, string) {
	f := newTestFleet(t, 1)
	cs := f.clients()
	f.write(cs, "")
	f.mustApply()
	before := seedChats(t, cs[0].port)
	return f, cs, before, containerID(t, f.ctr("c0"))
}

func assertUntouched(t *testing.T, f *testFleet, cs []clientDef, before map[string]string, id string) {
	t.Helper()
	if got := containerID(t, f.ctr("c0")); got != id {
		t.Fatalf("the container was replaced (%s -> %s)", id, got)
	}
	st := dockerCLI(t, "inspect", "--format", "{{.State.Running}} {{.State.StartedAt}}", f.ctr("c0"))
	if !strings.HasPrefix(st, "true") {
		t.Fatalf("container not running: %s", st)
	}
	after := readChats(t, cs[0].port, seededIDs)
	for k, v := range before {
		if after[k] != v {
			t.Fatalf("chat %s changed: %s -> %s", k, v, after[k])
		}
	}
}

func TestMigrateRefusesNonEmptyTargetBeforeDowntime(t *testing.T) {
	srv, db := startPG(t)
	f, cs, before, id := migrateSetup(t)
	started := dockerCLI(t, "inspect", "--format", "{{.State.StartedAt}}", f.ctr("c0"))
	if _, err := srv.Psql(context.Background(), db, `CREATE TABLE chat (id text primary key); INSERT INTO chat VALUES ('someone-elses')`); err != nil {
		t.Fatal(err)
	}
	f.writeDB(cs, srv.BridgeURL(db))
	r := f.run("apply", "--auto-approve", "--backup-dir", filepath.Join(f.dir, "b"))
	noPassword(t, "apply", r.all())
	if r.code != 1 || !strings.Contains(r.all(), "already hold rows") || !strings.Contains(r.all(), "preflight") {
		t.Fatalf("apply: exit %d\n%s", r.code, r.all())
	}
	assertUntouched(t, f, cs, before, id)
	if now := dockerCLI(t, "inspect", "--format", "{{.State.StartedAt}}", f.ctr("c0")); now != started {
		t.Fatalf("the container was restarted (%s -> %s): downtime before the refusal", started, now)
	}
	if out, _ := srv.Psql(context.Background(), db, `SELECT count(*) FROM chat`); out != "1" {
		t.Fatalf("target changed: %s rows", out)
	}
}

func TestMigrateWrongPasswordRefusedInPreflight(t *testing.T) {
	srv, db := startPG(t)
	f, cs, before, id := migrateSetup(t)
	started := dockerCLI(t, "inspect", "--format", "{{.State.StartedAt}}", f.ctr("c0"))
	bad := strings.Replace(srv.BridgeURL(db), pgtest.Password, "wrong-Pa55word-x", 1)
	f.writeDB(cs, bad)
	for _, args := range [][]string{{"plan"}, {"db", "show", "c0"}, {"db", "migrate", "c0", "--dry-run"}, {"apply", "--auto-approve", "--backup-dir", filepath.Join(f.dir, "b")}} {
		r := f.run(args...)
		noPassword(t, strings.Join(args, " "), r.all())
		if args[0] == "apply" && (r.code != 1 || !strings.Contains(r.all(), "preflight") || !strings.Contains(r.all(), "password authentication failed")) {
			t.Fatalf("apply: exit %d\n%s", r.code, r.all())
		}
	}
	assertUntouched(t, f, cs, before, id)
	if now := dockerCLI(t, "inspect", "--format", "{{.State.StartedAt}}", f.ctr("c0")); now != started {
		t.Fatal("the container was restarted")
	}
}

// startApply runs apply in the background with the stall hook and returns
// once the migration is stalled inside its copy transaction. output waits
// until the process's output is fully drained (it has exited) and returns it.
func startApply(t *testing.T, f *testFleet, hook, value string, args ...string) (cmd *exec.Cmd, output func() string, sum string) {
	t.Helper()
	t.Setenv(hook, value)
	cmd = f.cmd(context.Background(), append([]string{"apply", "--auto-approve"}, args...)...)
	pr, pw, _ := os.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	var out bytes.Buffer
	sc := bufio.NewScanner(pr)
	deadline := time.AfterFunc(90*time.Second, func() { cmd.Process.Kill() })
	defer deadline.Stop()
	for sc.Scan() {
		line := sc.Text()
		out.WriteString(line + "\n")
		if m := shaLine.FindStringSubmatch(line); m != nil {
			sum = m[1]
		}
		if strings.Contains(line, "test hook: ") {
			drained := make(chan struct{})
			go func() { // keep draining until the process closes its end
				defer close(drained)
				for sc.Scan() {
					out.WriteString(sc.Text() + "\n")
				}
			}()
			return cmd, func() string { <-drained; return out.String() }, sum
		}
	}
	cmd.Wait()
	t.Fatalf("apply ended before the stall (the hooks exist only in a binary built with -tags fleetctl_testhooks: make build-test, FLEETCTL_BIN=bin/fleetctl-test):\n%s", out.String())
	return nil, nil, ""
}

func TestMigratePostgresKilledMidCopyRollsBack(t *testing.T) {
	srv, db := startPG(t)
	f, cs, before, _ := migrateSetup(t)
	f.writeDB(cs, srv.BridgeURL(db))
	cmd, output, sum := startApply(t, f, "FLEETCTL_TEST_MIGRATE_STALL", "3s", "--backup-dir", filepath.Join(f.dir, "b"))
	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	text := output()
	noPassword(t, "apply", text)
	t.Logf("apply:\n%s", text)
	if err == nil || !strings.Contains(text, "migrate database: copy failed") || !strings.Contains(text, "running on SQLite again, healthy") {
		t.Fatalf("apply: %v\n%s", err, text)
	}
	after := readChats(t, cs[0].port, seededIDs)
	for k, v := range before {
		if after[k] != v {
			t.Fatalf("chat %s changed: %s -> %s", k, v, after[k])
		}
	}
	if sum == "" || volumeFileSHA(t, f.ctr("c0"), "/app/backend/data/webui.db") != sum {
		t.Fatalf("webui.db is not byte-identical after the rollback (sha %q)", sum)
	}
	var keys []string
	getJSON(t, cs[0].port, "/_standin/env-keys", &keys)
	if strings.Contains(strings.Join(keys, ","), "DATABASE_URL") {
		t.Fatal("the client runs on PostgreSQL after the rollback")
	}
}

// kill -9 of fleetctl inside the copy transaction (nothing committed) and
// after the commit but before the switch (the journal undoes the copy): the
// next apply finishes the migration, nothing lost, nothing duplicated.
func TestMigrateKilledFleetctlNextApplyFinishes(t *testing.T) {
	for _, tc := range []struct{ name, hook, value, want string }{
		{"in-copy-transaction", "FLEETCTL_TEST_MIGRATE_STALL", "30s", ""},
		{"after-commit", "FLEETCTL_TEST_MIGRATE_PAUSE", "copy:30s", "was interrupted after its copy"},
	} {
		t.Run(tc.name, func(t *testing.T) { killedMidMigration(t, tc.hook, tc.value, tc.want) })
	}
}

func killedMidMigration(t *testing.T, hook, value, want string) {
	srv, db := startPG(t)
	f, cs, before, _ := migrateSetup(t)
	f.writeDB(cs, srv.BridgeURL(db))
	backups := filepath.Join(f.dir, "b")
	cmd, _, _ := startApply(t, f, hook, value, "--backup-dir", backups)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	t.Setenv(hook, "")
	r := f.run("apply", "--auto-approve", "--backup-dir", backups, "--lock-timeout", "20s")
	if !strings.Contains(r.stdout, want) {
		t.Fatalf("apply after kill -9 does not say %q:\n%s", want, r.all())
	}
	noPassword(t, "apply", r.all())
	if r.code != 0 {
		t.Fatalf("apply after kill -9: exit %d\n%s", r.code, r.all())
	}
	t.Logf("apply after kill -9:\n%s", r.all())
	after := readChats(t, cs[0].port, seededIDs)
	for k, v := range before {
		want := v
		if k == "chat-nul" {
			want = strings.Replace(v, `before\u0000after`, "beforeafter", 1)
		}
		if after[k] != want {
			t.Fatalf("chat %s: %s -> %s", k, v, after[k])
		}
	}
	if n, _ := srv.Psql(context.Background(), db, `SELECT count(*) FROM chat`); n != "3" {
		t.Fatalf("chat rows in PostgreSQL: %s", n)
	}
	if names := f.containers(); len(names) != 1 {
		t.Fatalf("containers left: %v", names)
	}
}

// Orphan rows (a chat_message whose chat was deleted; SQLite never enforced
// the key) are listed by the dry run while the client keeps running, refuse
// apply before any downtime, and with --orphans=quarantine land in a side
// file in the backup directory, counted, while everything else moves.
func TestMigrateOrphansFoundBeforeDowntime(t *testing.T) {
	srv, db := startPG(t)
	f, cs, _, id := migrateSetup(t)
	postJSON(t, cs[0].port, "/_standin/chats/chat-plain/orphan", struct{}{})
	started := dockerCLI(t, "inspect", "--format", "{{.State.StartedAt}}", f.ctr("c0"))
	f.writeDB(cs, srv.BridgeURL(db))

	r := f.run("db", "migrate", "c0", "--dry-run")
	noPassword(t, "dry run", r.all())
	if r.code != 1 || !strings.Contains(r.stdout, "orphan rows") || !strings.Contains(r.stdout, "chat_message(chat_id) → chat(id)") ||
		!strings.Contains(r.stdout, "chat-plain-") || !regexp.MustCompile(`chat_message\s+2\n`).MatchString(r.stdout) {
		t.Fatalf("dry run: exit %d\n%s", r.code, r.all())
	}
	backups := filepath.Join(f.dir, "b")
	r = f.run("apply", "--auto-approve", "--backup-dir", backups)
	noPassword(t, "apply", r.all())
	if r.code != 1 || !strings.Contains(r.all(), "preflight") || !strings.Contains(r.all(), "orphan rows") || !strings.Contains(r.all(), "--orphans=quarantine") {
		t.Fatalf("apply: exit %d\n%s", r.code, r.all())
	}
	if containerID(t, f.ctr("c0")) != id || dockerCLI(t, "inspect", "--format", "{{.State.StartedAt}}", f.ctr("c0")) != started {
		t.Fatal("the refusal came after downtime")
	}

	r = f.run("apply", "--auto-approve", "--backup-dir", backups, "--orphans=quarantine")
	noPassword(t, "apply --orphans=quarantine", r.all())
	if r.code != 0 || !strings.Contains(r.stdout, "quarantined 1 orphan row(s)") {
		t.Fatalf("apply --orphans=quarantine: exit %d\n%s", r.code, r.all())
	}
	if q, _ := filepath.Glob(filepath.Join(backups, f.name, "c0", "orphans-*.db")); len(q) != 1 {
		t.Fatalf("quarantine files: %v", q)
	}
	if n, _ := srv.Psql(context.Background(), db, `SELECT count(*) FROM chat_message WHERE chat_id = 'chat-plain'`); n != "0" {
		t.Fatalf("orphans copied into PostgreSQL: %s", n)
	}
	if n, _ := srv.Psql(context.Background(), db, `SELECT count(*) FROM chat`); n != "2" {
		t.Fatalf("chats in PostgreSQL: %s", n)
	}
}
