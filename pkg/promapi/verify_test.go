package promapi

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startPrometheus runs Debian's prometheus on a free loopback port with
// config, until the test ends.
func startPrometheus(t *testing.T, config string) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatal("prometheus is needed (apt-get install -y prometheus; .ci/run installs it)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "--config.file="+config, "--storage.tsdb.path="+t.TempDir(),
		"--web.listen-address="+addr, "--web.enable-lifecycle")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	base := "http://" + addr
	deadline := time.Now().Add(60 * time.Second)
	for {
		if resp, err := http.Get(base + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("prometheus did not get ready")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestReloadVerifiedAgainstPrometheus(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	write := func(s string) {
		if err := os.WriteFile(cfg, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("global:\n  scrape_interval: 15s\n")
	base := startPrometheus(t, cfg)
	ctx := context.Background()
	before, err := LastReload(ctx, base)
	if err != nil || !before.Successful || before.At == 0 {
		t.Fatalf("LastReload = %+v, %v", before, err)
	}
	write("global:\n  scrape_interval: 30s\n")
	if err := ReloadVerified(ctx, base); err != nil {
		t.Fatalf("ReloadVerified: %v", err)
	}
	// A configuration Prometheus refuses is an error; it keeps the old one.
	write("global:\n  scrape_interval: not-a-duration\n")
	err = ReloadVerified(ctx, base)
	if err == nil || !strings.Contains(err.Error(), "reload prometheus") {
		t.Fatalf("a broken config reloaded: %v", err)
	}
	if st, err := LastReload(ctx, base); err != nil || st.Successful {
		t.Fatalf("after a refused reload: %+v %v", st, err)
	}
	t.Logf("a refused reload: %v", err)
}
