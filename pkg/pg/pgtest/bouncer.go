package pgtest

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// BouncerBin is Debian's pgbouncer.
var BouncerBin = "/usr/sbin/pgbouncer"

// Bouncer is a pgbouncer in transaction pooling mode in front of a Server:
// the constraints of Supabase's pooler on port 6543 (a server connection
// per transaction: no session state, no prepared statements, no LISTEN).
type Bouncer struct {
	Port int
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

// StartBouncer starts pgbouncer (as the postgres user when root) on a free
// port of 127.0.0.1. Stop it with Stop.
func StartBouncer(ctx context.Context, s *Server) (*Bouncer, error) {
	if _, err := os.Stat(BouncerBin); err != nil {
		return nil, fmt.Errorf("pgbouncer is not installed (apt-get install pgbouncer): %w", err)
	}
	dir, err := os.MkdirTemp("", "fleetctl-pgbouncer-")
	if err != nil {
		return nil, err
	}
	b := &Bouncer{dir: dir, done: make(chan struct{})}
	if b.Port, err = freePort(); err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(`[databases]
* = host=127.0.0.1 port=%d
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = scram-sha-256
auth_file = %s/userlist.txt
pool_mode = transaction
max_client_conn = 200
default_pool_size = 20
ignore_startup_parameters = extra_float_digits
logfile = %s/log
pidfile = %s/pid
server_reset_query =
`, s.Port, b.Port, dir, dir, dir)
	files := map[string]string{"pgbouncer.ini": conf, "userlist.txt": fmt.Sprintf("%q %q\n", "postgres", Password)}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			return nil, err
		}
	}
	if os.Geteuid() == 0 {
		for _, p := range []string{dir, filepath.Join(dir, "pgbouncer.ini"), filepath.Join(dir, "userlist.txt")} {
			if err := os.Chown(p, s.uid, s.gid); err != nil {
				return nil, err
			}
		}
		b.cmd = exec.Command("runuser", "-u", "postgres", "--", BouncerBin, filepath.Join(dir, "pgbouncer.ini"))
	} else {
		b.cmd = exec.Command(BouncerBin, filepath.Join(dir, "pgbouncer.ini"))
	}
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := b.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start pgbouncer: %w", err)
	}
	go func() { b.cmd.Wait(); close(b.done) }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(b.Port)), time.Second)
		if err == nil {
			c.Close()
			return b, nil
		}
		select {
		case <-b.done:
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			b.Stop()
			return nil, fmt.Errorf("pgbouncer exited: %s", tail(string(log), 2000))
		case <-ctx.Done():
			b.Stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b.Stop()
			return nil, fmt.Errorf("pgbouncer did not listen on %d", b.Port)
		}
	}
}

// URL is the superuser URL of database db through the pooler.
func (b *Bouncer) URL(db string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword("postgres", Password),
		Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(b.Port)), Path: "/" + db, RawQuery: "sslmode=disable"}
	return u.String()
}

// Stop ends pgbouncer and removes its files. Safe to call twice.
func (b *Bouncer) Stop() {
	if b == nil || b.dir == "" {
		return
	}
	if b.cmd != nil && b.cmd.Process != nil {
		syscall.Kill(-b.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-b.done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
			<-b.done
		}
	}
	os.RemoveAll(b.dir)
	b.dir = ""
}
