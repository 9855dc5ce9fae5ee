package main

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The image (FROM scratch, built by make standin) lets the program write
// /app/backend/.webui_secret_key: a container without WEBUI_SECRET_KEY
// keeps one key across restarts, in the file an import can copy out.
func TestImageWritesTheKeyFile(t *testing.T) {
	if os.Getenv("FLEETCTL_SKIP_DOCKER") == "1" {
		t.Skip("FLEETCTL_SKIP_DOCKER=1")
	}
	image := os.Getenv("FLEETCTL_STANDIN_IMAGE")
	if image == "" {
		image = "fleetctl/webui-standin:dev"
	}
	docker := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("docker", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("docker %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	docker("image", "inspect", "--format", "{{.Id}}", image) // fails clearly without make standin
	b := make([]byte, 4)
	rand.Read(b)
	name := "fleetctl-standin-keytest-" + hex.EncodeToString(b)
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", "-v", name).Run() })
	docker("run", "-d", "--name", name, "--label", "fleetctl.test=webui-standin", "-p", "127.0.0.1::8080", image)

	base := "http://" + strings.Replace(docker("port", name, "8080/tcp"), "0.0.0.0", "127.0.0.1", 1)
	waitReady := func() {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for {
			resp, err := http.Get(base + "/ready")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never ready: %v; logs:\n%s", name, err, docker("logs", name))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	keyOf := func() string {
		t.Helper()
		dir := t.TempDir()
		docker("cp", name+":/app/backend/.webui_secret_key", dir)
		raw, err := os.ReadFile(filepath.Join(dir, ".webui_secret_key"))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSuffix(string(raw), "\n")
	}
	waitReady()
	key := keyOf()
	if len(key) != 32 || secretDigest(t, base) != sha256hex(key) {
		t.Fatalf("key %d chars; the digest must be the file's key", len(key))
	}
	docker("restart", "-t", "2", name)
	base = "http://" + strings.Replace(docker("port", name, "8080/tcp"), "0.0.0.0", "127.0.0.1", 1)
	waitReady()
	if keyOf() != key || secretDigest(t, base) != sha256hex(key) {
		t.Error("the key changed across a restart of the same container")
	}
	if logs := docker("logs", name); strings.Contains(logs, key) {
		t.Error("the container's log shows the key")
	}
}
