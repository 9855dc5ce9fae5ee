package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// writer posts chats to a client as fast as it answers, counting the ones
// acknowledged, until stopped. Errors while the client is being replaced are
// expected and not counted.
type chatWriter struct {
	port  int
	acked atomic.Int64
	stop  chan struct{}
	wg    sync.WaitGroup
}

func startWriter(t *testing.T, port int) *chatWriter {
	w := &chatWriter{port: port, stop: make(chan struct{})}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		hc := http.Client{Timeout: 5 * time.Second}
		for i := int64(1); ; i++ {
			select {
			case <-w.stop:
				return
			default:
			}
			body := fmt.Sprintf(`{"id":"w-%d","user_id":"u","title":"load %d","chat":{"messages":[]}}`, i, i)
			resp, err := hc.Post(fmt.Sprintf("http://127.0.0.1:%d/_standin/chats", port), "application/json", strings.NewReader(body))
			if err != nil {
				i--
				time.Sleep(10 * time.Millisecond)
				continue
			}
			resp.Body.Close()
			if resp.StatusCode/100 != 2 {
				i--
				continue
			}
			w.acked.Store(i)
		}
	}()
	t.Cleanup(w.halt)
	return w
}

func (w *chatWriter) halt() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	w.wg.Wait()
}

func chatIDs(t *testing.T, port int) map[string]bool {
	t.Helper()
	var out struct {
		IDs []string `json:"ids"`
	}
	if code := getJSON(t, port, "/_standin/chats", &out); code != 200 {
		t.Fatalf("list chats: HTTP %d", code)
	}
	m := map[string]bool{}
	for _, id := range out.IDs {
		m[id] = true
	}
	return m
}

type listed struct {
	Backups []struct {
		ID       string `json:"id"`
		Client   string `json:"client"`
		Bytes    int64  `json:"bytes"`
		Location string `json:"location"`
	} `json:"backups"`
}

func (f *testFleet) backupList(client string) listed {
	f.t.Helper()
	r := f.run("backup", "list", client, "--json")
	if r.code != 0 {
		f.t.Fatalf("backup list: exit %d\n%s", r.code, r.all())
	}
	var l listed
	if err := json.Unmarshal([]byte(r.stdout), &l); err != nil {
		f.t.Fatalf("backup list --json: %v\n%s", err, r.stdout)
	}
	return l
}

// Backup while the client serves a steady write load, restore, clone; a
// corrupted archive is refused with nothing changed.
func TestBackupRestoreLocalUnderWrites(t *testing.T) {
	f := newTestFleet(t, 2)
	cs := f.clients()[:1]
	backups := filepath.Join(f.dir, "backups")
	f.write(cs, "")
	appendYAML(t, f.file, fmt.Sprintf("backups:\n  dir: %s\n  keep:\n    last: 2\n", backups))
	f.mustApply()
	port := cs[0].port

	w := startWriter(t, port)
	for w.acked.Load() < 50 {
		time.Sleep(10 * time.Millisecond)
	}
	before := w.acked.Load()
	r := f.run("backup", "c0")
	after := w.acked.Load()
	if r.code != 0 || !strings.Contains(r.stdout, "verified") {
		t.Fatalf("backup: exit %d\n%s", r.code, r.all())
	}
	if after <= before {
		t.Fatalf("the client served no writes during the backup (%d then %d)", before, after)
	}
	l := f.backupList("c0")
	if len(l.Backups) != 1 || l.Backups[0].Client != "c0" || l.Backups[0].Bytes == 0 {
		t.Fatalf("backup list: %+v", l)
	}
	w.halt()
	// Rows after the backup: a restore goes back to the backup's point in time.
	postJSON(t, port, "/_standin/chats", map[string]string{"id": "after-backup", "user_id": "u", "title": "later", "chat": "{}"})

	// A corrupted copy of the archive is refused before anything changes.
	good := l.Backups[0].Location
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Clone(data)
	bad[len(bad)/2] ^= 0x55
	if err := os.WriteFile(good, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	yamlBefore, _ := os.ReadFile(f.file)
	idBefore := containerID(t, f.ctr("c0"))
	volsBefore := f.volumes()
	r = f.run("restore", "c0", l.Backups[0].ID, "--auto-approve")
	if r.code != 1 || !strings.Contains(r.stderr, "nothing was changed") {
		t.Fatalf("restore of a corrupted archive: exit %d\n%s", r.code, r.all())
	}
	yamlNow, _ := os.ReadFile(f.file)
	if !bytes.Equal(yamlBefore, yamlNow) || containerID(t, f.ctr("c0")) != idBefore || !slices.Equal(f.volumes(), volsBefore) {
		t.Fatalf("a refused restore changed something")
	}
	if err := os.WriteFile(good, data, 0o600); err != nil {
		t.Fatal(err)
	}

	r = f.run("restore", "c0", "latest", "--auto-approve")
	if r.code != 0 {
		t.Fatalf("restore: exit %d\n%s", r.code, r.all())
	}
	yamlNow, _ = os.ReadFile(f.file)
	if !strings.Contains(string(yamlNow), "volume: "+f.name+"-c0-data-r") {
		t.Fatalf("fleet.yaml does not point at the restored volume:\n%s", yamlNow)
	}
	ids := chatIDs(t, port)
	for i := int64(1); i <= before; i++ {
		if !ids[fmt.Sprintf("w-%d", i)] {
			t.Fatalf("row w-%d, written before the backup began, is missing after the restore", i)
		}
	}
	if ids["after-backup"] {
		t.Fatalf("a row written after the backup is in the restored data\n%s\n%s\n%s", r.all(), dockerCLI(t, "inspect", "-f", "{{json .Mounts}} {{.Created}}", f.ctr("c0")), f.run("plan").all())
	}
	if r := f.run("plan", "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("plan after restore is not empty: exit %d\n%s", r.code, r.all())
	}
	if !slices.Contains(f.volumes(), f.name+"-c0-data") {
		t.Fatalf("the previous volume was removed: %v", f.volumes())
	}

	// Clone: a new volume for a new client, and the entry to add.
	r = f.run("restore", "c0", "latest", "--as", "c9", "--auto-approve")
	if r.code != 0 || !strings.Contains(r.stdout, "name: c9") {
		t.Fatalf("restore --as: exit %d\n%s", r.code, r.all())
	}
	entry := r.stdout[strings.Index(r.stdout, "- name: c9"):]
	entry = replacePort(entry, f.ports[1])
	appendClient(t, f.file, entry)
	f.mustApply()
	ids = chatIDs(t, f.ports[1])
	for i := int64(1); i <= before; i++ {
		if !ids[fmt.Sprintf("w-%d", i)] {
			t.Fatalf("clone: row w-%d missing", i)
		}
	}
}

func appendYAML(t *testing.T, file, s string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// Top-level keys go before clients: (the last section).
	i := bytes.Index(b, []byte("\nclients:\n"))
	out := append(append(bytes.Clone(b[:i+1]), s...), b[i+1:]...)
	if err := os.WriteFile(file, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

func appendClient(t *testing.T, file, entry string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var ind strings.Builder
	for _, l := range strings.Split(strings.TrimRight(entry, "\n"), "\n") {
		ind.WriteString("  " + l + "\n")
	}
	if err := os.WriteFile(file, append(b, ind.String()...), 0o644); err != nil {
		t.Fatal(err)
	}
}

func replacePort(entry string, port int) string {
	lines := strings.Split(entry, "\n")
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "port:") {
			lines[i] = l[:strings.Index(l, "port:")] + fmt.Sprintf("port: %d", port)
		}
	}
	return strings.Join(lines, "\n")
}

// A database that fails integrity_check is never stored as a backup.
func TestBackupRefusesDamagedDatabase(t *testing.T) {
	f := newTestFleet(t, 1)
	cs := f.clients()
	cs[0].extra = "    state: stopped\n"
	f.write(cs, "")
	appendYAML(t, f.file, fmt.Sprintf("backups:\n  dir: %s\n", filepath.Join(f.dir, "backups")))
	f.mustApply()
	mp := dockerCLI(t, "volume", "inspect", "--format", "{{.Mountpoint}}", f.name+"-c0-data")
	junk := append([]byte("SQLite format 3\x00"), bytes.Repeat([]byte{0xa5}, 8192)...)
	if err := os.WriteFile(filepath.Join(mp, "webui.db"), junk, 0o644); err != nil {
		t.Skipf("cannot write into the volume's directory (not root?): %v", err)
	}
	r := f.run("backup", "c0")
	t.Log(r.stderr)
	if r.code != 1 || !strings.Contains(r.stderr, "not a database") {
		t.Fatalf("backup of a damaged database: exit %d\n%s", r.code, r.all())
	}
	if l := f.backupList("c0"); len(l.Backups) != 0 {
		t.Fatalf("a failed backup was listed: %+v", l)
	}
	if left, _ := filepath.Glob(filepath.Join(f.dir, "backups", "c0", "*")); len(left) != 0 {
		t.Fatalf("a failed backup left files: %v", left)
	}
}
