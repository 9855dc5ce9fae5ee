package fleet

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fileSecretSpec is a valid fleet whose seed is ${file:seed} and whose only
// client takes OPENAI_API_KEY from ${file:key}.
const fileSecretSpec = "apiVersion: fleetctl/v1\nfleet: test\nsecretKeySeed: ${file:seed}\nclients:\n" +
	"  - name: a\n    port: 8081\n    env:\n      OPENAI_API_KEY: ${file:key}\n"

func resolveIn(t *testing.T, dir string) (Secrets, error) {
	t.Helper()
	spec, err := Parse([]byte(fileSecretSpec), filepath.Join(dir, "fleet.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return Resolver{BaseDir: dir}.Resolve(spec)
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// unblocking runs f; if it has not returned after a generous while (stuck
// in open() on a FIFO, or reading a huge file whole), the path gets a writer
// if it is a FIFO so f can return, and the test fails. Never an assertion on
// speed: only a way out of a hang.
func unblocking(t *testing.T, fifo string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Errorf("still not done with %s after 10s (blocked on a FIFO, or reading it whole)", fifo)
		if w, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
			w.Close()
		}
		<-done
	}
}

func TestResolveRefusesBadSecrets(t *testing.T) {
	const distinct = "Tok3n-Visible-If-Leaked"
	tests := []struct {
		name  string
		key   func(t *testing.T, path string)
		want  string
		fatal bool
	}{
		{name: "NUL byte", key: func(t *testing.T, p string) { writeFile(t, p, []byte(distinct+"\x00tail\n")) },
			want: "${file:key}: the secret contains a NUL byte (\\x00)"},
		{name: "invalid UTF-8", key: func(t *testing.T, p string) { writeFile(t, p, []byte(distinct+"\xff\xfe")) },
			want: "${file:key}: the secret is not valid UTF-8 text"},
		{name: "larger than the cap, sparse", key: func(t *testing.T, p string) {
			f, err := os.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := f.Truncate(1 << 30); err != nil { // 1 GiB, no blocks written
				t.Fatal(err)
			}
		}, want: "${file:key}: cannot read secret file: "},
		{name: "directory", key: func(t *testing.T, p string) {
			if err := os.Mkdir(p, 0o700); err != nil {
				t.Fatal(err)
			}
		}, want: "a directory, not a regular file"},
		{name: "FIFO", key: func(t *testing.T, p string) {
			if err := syscall.Mkfifo(p, 0o600); err != nil {
				t.Fatal(err)
			}
		}, want: "a FIFO (named pipe), not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "seed"), []byte("seed\n"))
			key := filepath.Join(dir, "key")
			tt.key(t, key)
			var err error
			unblocking(t, key, func() { _, err = resolveIn(t, dir) })
			var se *SecretError
			if !errors.As(err, &se) {
				t.Fatalf("Resolve = %v, want a *SecretError", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), distinct) || strings.Contains(err.Error(), "tail") {
				t.Errorf("error echoes the value: %q", err)
			}
		})
	}
}

func TestResolveSizeLimitNamed(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "seed"), []byte("seed"))
	f, err := os.Create(filepath.Join(dir, "key"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = resolveIn(t, dir)
	want := "${file:key}: cannot read secret file: " + filepath.Join(dir, "key") + ": file is too large (1073741824 bytes; the limit is 64 KiB)"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want %q", err, want)
	}
}

func TestResolveEnvValueChecked(t *testing.T) {
	spec, err := Parse([]byte("apiVersion: fleetctl/v1\nfleet: test\nsecretKeySeed: ${env:SEED}\nclients:\n"+
		"  - name: a\n    port: 8081\n    env: {K: \"${env:BIG}\", L: \"${env:BAD}\"}\n"), "f.yaml")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SEED": "s", "BIG": strings.Repeat("x", MaxSecretSize+1), "BAD": "a\xc3"}
	_, err = Resolver{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}.Resolve(spec)
	for _, want := range []string{
		"${env:BIG}: the secret is 65537 bytes, more than the limit of 64 KiB",
		"${env:BAD}: the secret is not valid UTF-8 text",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want %q", err, want)
		}
	}
}

// The seed only keys an HMAC: binary seeds (head -c 32 /dev/urandom) keep
// working, and so do the secret keys derived from them.
func TestResolveBinarySeed(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "seed"), []byte("\x00\xff\x10binary"))
	writeFile(t, filepath.Join(dir, "key"), []byte("sk-fine\n"))
	s, err := resolveIn(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.Value("${file:seed}") != "\x00\xff\x10binary" || s.Value("${file:key}") != "sk-fine" {
		t.Errorf("values %q", s)
	}
}

func TestLoadRefusesSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fleet.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	var err error
	unblocking(t, fifo, func() { _, err = Load(fifo) })
	if err == nil || !strings.Contains(err.Error(), fifo+": a FIFO (named pipe), not a regular file") {
		t.Errorf("Load(FIFO) = %v", err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "a directory, not a regular file") {
		t.Errorf("Load(dir) = %v", err)
	}

	big := filepath.Join(dir, "big.yaml")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = Load(big)
	var ds *Diagnostics
	if !errors.As(err, &ds) || !strings.Contains(err.Error(), big+":1:1: file is larger than 4 MiB") {
		t.Errorf("Load(1 GiB) = %v", err)
	}
}
