// Package nginxtest starts a real nginx for tests: its own prefix directory,
// configuration, pid file, error log, temp paths and a sites directory it
// includes, stopped in t.Cleanup. It is imported by tests only.
package nginxtest

import (
	"context"
	"fmt"
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

// Server is one running nginx master.
type Server struct {
	Prefix   string
	SitesDir string
	Conf     string
	ErrorLog string
	// ControlPort answers GET /_nginxtest with 200 (readiness).
	ControlPort int
	bin         string
	cmd         *exec.Cmd
}

// Binary returns the nginx binary, failing the test (never skipping) when it
// is missing, unless FLEETCTL_SKIP_DOCKER=1 (the switch for the tests that
// need system services).
func Binary(t testing.TB) string {
	t.Helper()
	if os.Getenv("FLEETCTL_SKIP_DOCKER") == "1" {
		t.Skip("FLEETCTL_SKIP_DOCKER=1")
	}
	for _, p := range []string{"nginx", "/usr/sbin/nginx"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Fatal("nginx is needed (Debian: apt-get install -y nginx; .ci/run installs it)")
	return ""
}

// Start runs nginx in the foreground (daemon off) as a child of the test.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := Binary(t)
	dir := t.TempDir()
	s := &Server{bin: bin, Prefix: dir, SitesDir: filepath.Join(dir, "sites"), Conf: filepath.Join(dir, "nginx.conf"),
		ErrorLog: filepath.Join(dir, "error.log"), ControlPort: FreePort(t)}
	for _, d := range []string{s.SitesDir, filepath.Join(dir, "tmp")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	user := ""
	if os.Geteuid() == 0 {
		user = "user root root;\n" // workers must reach the test's temp dir
	}
	conf := fmt.Sprintf(`%sworker_processes 1;
error_log %s info;
pid %s/nginx.pid;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path %[4]s/tmp/body;
    proxy_temp_path %[4]s/tmp/proxy;
    fastcgi_temp_path %[4]s/tmp/fastcgi;
    uwsgi_temp_path %[4]s/tmp/uwsgi;
    scgi_temp_path %[4]s/tmp/scgi;
    server {
        listen 127.0.0.1:%d;
        location = /_nginxtest { return 200 "ok"; }
    }
    include %s/*.conf;
}
`, user, s.ErrorLog, dir, dir, s.ControlPort, s.SitesDir)
	if err := os.WriteFile(s.Conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	s.cmd = exec.Command(bin, "-p", dir, "-c", s.Conf, "-g", "daemon off;")
	s.cmd.Stdout, s.cmd.Stderr = os.Stderr, os.Stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- s.cmd.Wait() }()
	t.Cleanup(func() {
		s.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			s.cmd.Process.Kill()
			<-exited
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/_nginxtest", s.ControlPort))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("nginx exited: %v\n%s", err, s.Log(t))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx did not answer on %d: %v\n%s", s.ControlPort, err, s.Log(t))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Args are the flags that address this instance (prefix and configuration).
func (s *Server) Args() []string { return []string{"-p", s.Prefix, "-c", s.Conf} }

// TestCommand and ReloadCommand are what a fleet.yaml proxy section (or
// nginx.Sites) uses for this instance.
func (s *Server) TestCommand() []string {
	return append([]string{s.bin}, append(s.Args(), "-t", "-q")...)
}

func (s *Server) ReloadCommand() []string {
	return append([]string{s.bin}, append(s.Args(), "-s", "reload")...)
}

// Reloads counts the reloads nginx logged (SIGHUP, "reconfiguring").
func (s *Server) Reloads(t testing.TB) int {
	return strings.Count(s.Log(t), "reconfiguring")
}

// Log returns the error log.
func (s *Server) Log(t testing.TB) string {
	b, _ := os.ReadFile(s.ErrorLog)
	return string(b)
}

// WaitReloaded waits until nginx logged at least n reloads and the new
// workers are up (the old ones are told to quit).
func (s *Server) WaitReloaded(t testing.TB, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for s.Reloads(t) < n || !strings.Contains(lastReload(s.Log(t)), "gracefully shutting down") {
		if ctx.Err() != nil {
			t.Fatalf("nginx did not finish reload %d:\n%s", n, s.Log(t))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func lastReload(log string) string {
	i := strings.LastIndex(log, "reconfiguring")
	if i < 0 {
		return ""
	}
	return log[i:]
}

// FreePort returns a TCP port free on 127.0.0.1 right now.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
