package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Without WEBUI_SECRET_KEY the stand-in does what start.sh does: it writes
// 24 random bytes, base64, to the key file (outside the data volume) and
// uses them; the next start reuses the file; the digest shows the key in
// use; the key itself is never printed.
func TestSecretKeyFileWrittenAndReused(t *testing.T) {
	if !strings.HasPrefix(defaultSecretKeyFile, "/app/backend/") || strings.HasPrefix(defaultSecretKeyFile, defaultDataDir+"/") {
		t.Fatalf("default key file %s: want it in /app/backend, outside the data volume", defaultSecretKeyFile)
	}
	keyFile := filepath.Join(t.TempDir(), ".webui_secret_key")
	e := mapEnv{"DATA_DIR": t.TempDir(), "WEBUI_SECRET_KEY_FILE": keyFile}
	r := start(t, e)
	raw, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[A-Za-z0-9+/]{32}\n$`).Match(raw) {
		t.Fatalf("key file %q: want 24 bytes in base64 and a newline", raw)
	}
	key := strings.TrimSuffix(string(raw), "\n")
	if got := secretDigest(t, "http://"+r.addr); got != sha256hex(key) {
		t.Errorf("digest %s, want the file's key", got)
	}
	r.stop(t)
	if out := r.stdout.String() + r.stderr.String(); strings.Contains(out, key) || !strings.Contains(out, "generated into "+keyFile) {
		t.Errorf("output: %s", out)
	}

	r2 := start(t, e)
	if again, _ := os.ReadFile(keyFile); !bytes.Equal(again, raw) {
		t.Errorf("key file rewritten on restart: %q then %q", raw, again)
	}
	if got := secretDigest(t, "http://"+r2.addr); got != sha256hex(key) {
		t.Errorf("restart: digest %s, want the same key", got)
	}
	if out := r2.stdout.String(); !strings.Contains(out, "loaded from "+keyFile) {
		t.Errorf("restart output: %s", out)
	}
}

// A key file left by an old container is used as it is; a key in the
// environment wins and writes no file.
func TestSecretKeySources(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), ".webui_secret_key")
	if err := os.WriteFile(keyFile, []byte("old-container-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ts, _ := newTestServer(t, mapEnv{"WEBUI_SECRET_KEY_FILE": keyFile})
	if got := secretDigest(t, ts.URL); got != sha256hex("old-container-key") {
		t.Errorf("existing file: digest %s", got)
	}
	other := filepath.Join(t.TempDir(), ".webui_secret_key")
	ts2, _ := newTestServer(t, mapEnv{"WEBUI_SECRET_KEY": "from-env", "WEBUI_SECRET_KEY_FILE": other})
	if got := secretDigest(t, ts2.URL); got != sha256hex("from-env") {
		t.Errorf("env: digest %s", got)
	}
	if _, err := os.Stat(other); !os.IsNotExist(err) {
		t.Errorf("key file written although WEBUI_SECRET_KEY is set: %v", err)
	}
}

// No key and no usable key file: the app does not start, and neither does
// the stand-in (exit 1, before it listens).
func TestSecretKeyFileUnusable(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o600)
	for path, want := range map[string]string{
		filepath.Join(dir, "no", "such", "dir", ".webui_secret_key"): "cannot be written",
		empty: "the file is empty",
		dir:   "not a regular file",
	} {
		var stderr bytes.Buffer
		e := mapEnv{"DATA_DIR": t.TempDir(), "PORT": "0", "WEBUI_SECRET_KEY_FILE": path}
		code := run(context.Background(), e, io.Discard, &stderr, func(net.Addr) { t.Errorf("%s: listened", path) })
		if code != 1 || !strings.Contains(stderr.String(), want) || !strings.Contains(stderr.String(), path) {
			t.Errorf("%s: exit %d, stderr %q; want 1 and %q", path, code, stderr.String(), want)
		}
	}
}
