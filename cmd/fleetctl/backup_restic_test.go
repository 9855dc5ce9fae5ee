package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const testResticPassword = "restic-PASSWORD-e8b1c7"

// restServer starts Debian's rclone as a restic REST server on a free
// loopback port, serving a temp directory; stopped at cleanup.
func restServer(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("rclone"); err != nil {
		t.Fatal("rclone is needed (apt-get install rclone; .ci/run installs it)")
	}
	port := freePorts(t, 1)[0]
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "rclone", "serve", "restic", "--addr", addr, t.TempDir())
	cmd.Env = append(os.Environ(), "RCLONE_CONFIG=/dev/null")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return "rest:http://" + addr + "/"
		}
		if time.Now().After(deadline) {
			t.Fatalf("rclone serve restic on %s did not come up: %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Backups into restic, a local repository and a REST server: two backups
// deduplicate, list, restore; a wrong password is refused with nothing
// changed; the password never shows in any output.
func TestBackupRestic(t *testing.T) {
	if _, err := exec.LookPath("restic"); err != nil {
		t.Fatal("restic is needed (apt-get install restic; .ci/run installs it)")
	}
	for _, tc := range []struct{ name, repo string }{
		{"local repository", filepath.Join(t.TempDir(), "repo")},
		{"rest server", restServer(t)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newTestFleet(t, 1)
			cs := f.clients()
			f.write(cs, "")
			appendYAML(t, f.file, fmt.Sprintf("backups:\n  restic:\n    repository: %s\n    password: ${env:IT_RESTIC_PASSWORD}\n  keep:\n    last: 1\n", tc.repo))
			t.Setenv("IT_RESTIC_PASSWORD", testResticPassword)
			f.mustApply()
			postJSON(t, cs[0].port, "/_standin/chats", map[string]string{"id": "before", "user_id": "u", "title": "kept", "chat": "{}"})
			for i := 0; i < 2; i++ {
				if r := f.run("backup", "--all"); r.code != 0 {
					t.Fatalf("backup %d: exit %d\n%s", i, r.code, r.all())
				}
				f.noResticPassword(t, "backup")
				time.Sleep(1100 * time.Millisecond) // backup IDs have one-second resolution
			}
			l := f.backupList("c0")
			if len(l.Backups) != 1 { // keep: last: 1 pruned the first
				t.Fatalf("backup list after two backups with keep.last 1: %+v", l)
			}
			postJSON(t, cs[0].port, "/_standin/chats", map[string]string{"id": "after", "user_id": "u", "title": "later", "chat": "{}"})

			t.Setenv("IT_RESTIC_PASSWORD", "not-the-"+testResticPassword)
			yamlBefore, _ := os.ReadFile(f.file)
			idBefore := containerID(t, f.ctr("c0"))
			volsBefore := strings.Join(f.volumes(), ",")
			r := f.run("restore", "c0", "latest", "--auto-approve")
			if r.code != 1 || !strings.Contains(r.stderr, "wrong password") {
				t.Fatalf("restore with a wrong password: exit %d\n%s", r.code, r.all())
			}
			yamlNow, _ := os.ReadFile(f.file)
			if string(yamlNow) != string(yamlBefore) || containerID(t, f.ctr("c0")) != idBefore || strings.Join(f.volumes(), ",") != volsBefore {
				t.Fatal("a refused restore changed something")
			}

			t.Setenv("IT_RESTIC_PASSWORD", testResticPassword)
			r = f.run("restore", "c0", l.Backups[0].ID, "--auto-approve")
			if r.code != 0 {
				t.Fatalf("restore: exit %d\n%s", r.code, r.all())
			}
			ids := chatIDs(t, cs[0].port)
			if !ids["before"] || ids["after"] {
				t.Fatalf("restored chats %v: want 'before' and not 'after'", ids)
			}
		})
	}
}

func (f *testFleet) noResticPassword(t *testing.T, what string) {
	t.Helper()
	// f.run already checked its own outputs for the fleet's secrets; the
	// restic password must not be in fleet.yaml or the backup list either.
	r := f.run("backup", "list", "--json")
	if strings.Contains(r.all(), testResticPassword) {
		t.Fatalf("%s: the restic password is in the output", what)
	}
}
