package main

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A client on PostgreSQL: its backup holds a pg_dump -Fc of the database
// (taken on this host, the password never on a command line or in output)
// beside the volume, listed in the manifest with its checksum.
func TestBackupPostgresDump(t *testing.T) {
	srv, db := startPG(t)
	f := newTestFleet(t, 1)
	cs := f.clients()
	f.writeDB(cs, srv.BridgeURL(db))
	appendYAML(t, f.file, fmt.Sprintf("backups:\n  dir: %s\n", filepath.Join(f.dir, "backups")))
	f.mustApply()
	postJSON(t, cs[0].port, "/_standin/chats", map[string]string{"id": "pg-chat", "user_id": "u", "title": "in postgres", "chat": "{}"})
	r := f.run("backup", "c0")
	noPassword(t, "backup", r.all())
	if r.code != 0 {
		t.Fatalf("backup: exit %d\n%s", r.code, r.all())
	}
	l := f.backupList("c0")
	if len(l.Backups) != 1 {
		t.Fatalf("backup list: %+v", l)
	}
	fh, err := os.Open(l.Backups[0].Location)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	gz, err := gzip.NewReader(fh)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	dump := filepath.Join(t.TempDir(), "db.dump")
	var manifest struct {
		Backend  string `json:"backend"`
		Postgres *struct {
			Size   int64  `json:"size"`
			SHA256 string `json:"sha256"`
		} `json:"postgres"`
	}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch h.Name {
		case "postgres.dump":
			out, _ := os.Create(dump)
			io.Copy(out, tr)
			out.Close()
		case "manifest.json":
			if err := json.NewDecoder(tr).Decode(&manifest); err != nil {
				t.Fatal(err)
			}
		}
	}
	if manifest.Backend != "postgres" || manifest.Postgres == nil || manifest.Postgres.Size == 0 {
		t.Fatalf("manifest: %+v", manifest)
	}
	out, err := exec.Command("pg_restore", "--list", dump).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "TABLE DATA public chat") {
		t.Fatalf("pg_restore --list: %v\n%s", err, out)
	}
}
