// Package pgtest starts a real, throw-away PostgreSQL server for tests: the
// Debian binaries in /usr/lib/postgresql/VERSION/bin, run as the postgres user
// (PostgreSQL refuses to run as root) on a temp data directory, on a free port
// of 127.0.0.1 (and, when asked, the Docker bridge gateway so containers can
// reach it), with its unix socket inside the temp directory.
//
// One server is shared per test package (started from TestMain with Main);
// each test gets a fresh database from NewDatabase. It is test-only: nothing
// outside _test.go files and the benchmark may import it.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Version is the PostgreSQL major version the tests use (Debian bookworm's).
const Version = "15"

// BinDir holds initdb, pg_ctl and postgres.
var BinDir = "/usr/lib/postgresql/" + Version + "/bin"

// Password of the superuser "postgres" over TCP (scram-sha-256). Tests only.
const Password = "pgtest-secret"

// Options configure Start.
type Options struct {
	// Bridge also listens on the Docker bridge gateway address and lets the
	// bridge subnet in (password auth), so containers can reach the server.
	Bridge bool
	// Settings are extra postgresql.conf settings ("name=value").
	Settings []string
}

// Server is a running PostgreSQL.
type Server struct {
	Dir     string // temp root, owned by the postgres user
	DataDir string
	Port    int
	// BridgeHost is the address containers use (empty unless Options.Bridge).
	BridgeHost string
	uid, gid   int
	seq        atomic.Int64
}

// Available reports why PostgreSQL cannot be started here ("" when it can).
func Available() string {
	if _, err := os.Stat(filepath.Join(BinDir, "pg_ctl")); err != nil {
		return "PostgreSQL " + Version + " is not installed (" + BinDir + "/pg_ctl missing; apt-get install postgresql-" + Version + ")"
	}
	if _, err := user.Lookup("postgres"); err != nil {
		return "no postgres user"
	}
	return ""
}

// Start initialises and starts a new server. Stop it with Stop.
func Start(ctx context.Context, o Options) (*Server, error) {
	if why := Available(); why != "" {
		return nil, errors.New(why)
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	dir, err := os.MkdirTemp("", "fleetctl-pgtest-")
	if err != nil {
		return nil, err
	}
	s := &Server{Dir: dir, DataDir: filepath.Join(dir, "data"), uid: uid, gid: gid}
	ok := false
	defer func() {
		if !ok {
			s.Stop()
		}
	}()
	if os.Geteuid() == 0 {
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
	}
	pwfile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwfile, []byte(Password+"\n"), 0o600); err != nil {
		return nil, err
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(pwfile, uid, gid); err != nil {
			return nil, err
		}
	}
	if out, err := s.run(ctx, filepath.Join(BinDir, "initdb"), "-D", s.DataDir, "-U", "postgres",
		"--pwfile="+pwfile, "--auth-local=trust", "--auth-host=scram-sha-256",
		"-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	listen := "127.0.0.1"
	if o.Bridge {
		gw, subnet, err := bridgeGateway(ctx)
		if err != nil {
			return nil, err
		}
		s.BridgeHost = gw
		listen += "," + gw
		hba := fmt.Sprintf("host all all %s scram-sha-256\n", subnet)
		f, err := os.OpenFile(filepath.Join(s.DataDir, "pg_hba.conf"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return nil, err
		}
		_, err = f.WriteString(hba)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
	}
	conf := []string{
		"listen_addresses='" + listen + "'",
		"unix_socket_directories='" + dir + "'",
		"fsync=off", "synchronous_commit=off", "full_page_writes=off",
		"max_connections=100", "shared_buffers=128MB",
	}
	conf = append(conf, o.Settings...)
	f, err := os.OpenFile(filepath.Join(s.DataDir, "postgresql.auto.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	_, err = f.WriteString(strings.Join(conf, "\n") + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	// A free port can be taken between the probe and the start: retry a few times.
	for attempt := 0; ; attempt++ {
		if s.Port, err = freePort(); err != nil {
			return nil, err
		}
		out, err := s.run(ctx, filepath.Join(BinDir, "pg_ctl"), "-D", s.DataDir, "-l", filepath.Join(dir, "log"),
			"-o", "-p "+strconv.Itoa(s.Port), "-w", "-t", "60", "start")
		if err == nil {
			break
		}
		if attempt == 2 {
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			return nil, fmt.Errorf("pg_ctl start: %w\n%s\n%s", err, out, tail(string(log), 2000))
		}
	}
	ok = true
	return s, nil
}

// Stop stops the server (immediately) and removes its files. Safe to call twice.
func (s *Server) Stop() {
	if s == nil || s.Dir == "" {
		return
	}
	if _, err := os.Stat(filepath.Join(s.DataDir, "postmaster.pid")); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		s.run(ctx, filepath.Join(BinDir, "pg_ctl"), "-D", s.DataDir, "-m", "immediate", "-w", "stop")
		cancel()
	}
	os.RemoveAll(s.Dir)
	s.Dir = ""
}

// Kill stops the server abruptly without removing its files (fault tests).
func (s *Server) Kill() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := s.run(ctx, filepath.Join(BinDir, "pg_ctl"), "-D", s.DataDir, "-m", "immediate", "-w", "stop")
	if err != nil {
		return fmt.Errorf("pg_ctl stop: %w\n%s", err, out)
	}
	return nil
}

// URL is the superuser URL of database db over TCP on 127.0.0.1.
func (s *Server) URL(db string) string {
	return s.url("127.0.0.1", db, Password)
}

// BridgeURL is the URL a container on the default bridge uses.
func (s *Server) BridgeURL(db string) string {
	return s.url(s.BridgeHost, db, Password)
}

// URLWithPassword is URL with another password (wrong-password tests).
func (s *Server) URLWithPassword(db, password string) string {
	return s.url("127.0.0.1", db, password)
}

func (s *Server) url(host, db, password string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword("postgres", password),
		Host: net.JoinHostPort(host, strconv.Itoa(s.Port)), Path: "/" + db, RawQuery: "sslmode=disable"}
	return u.String()
}

// Psql runs SQL through psql over the unix socket as the superuser.
func (s *Server) Psql(ctx context.Context, db, sql string) (string, error) {
	out, err := s.run(ctx, filepath.Join(BinDir, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
		"-h", s.Dir, "-p", strconv.Itoa(s.Port), "-U", "postgres", "-d", db, "-c", sql)
	if err != nil {
		return out, fmt.Errorf("psql: %w: %s", err, out)
	}
	return strings.TrimSpace(out), nil
}

// CreateDatabase creates a new, uniquely named, empty database and returns its name.
func (s *Server) CreateDatabase(ctx context.Context, prefix string) (string, error) {
	name := fmt.Sprintf("%s_%d_%d", sanitize(prefix), os.Getpid(), s.seq.Add(1))
	_, err := s.Psql(ctx, "postgres", `CREATE DATABASE "`+name+`"`)
	return name, err
}

// DropDatabase drops a database, disconnecting its sessions.
func (s *Server) DropDatabase(ctx context.Context, name string) error {
	_, err := s.Psql(ctx, "postgres", `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`)
	return err
}

func (s *Server) run(ctx context.Context, name string, args ...string) (string, error) {
	var cmd *exec.Cmd
	if os.Geteuid() == 0 {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, name, args...)
	}
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C", "PGTZ=UTC"}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// bridgeGateway returns the default Docker bridge's gateway address and subnet.
func bridgeGateway(ctx context.Context) (gw, subnet string, err error) {
	out, err := exec.CommandContext(ctx, "docker", "network", "inspect", "bridge",
		"--format", "{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}").Output()
	if err != nil {
		return "", "", fmt.Errorf("docker network inspect bridge: %w", err)
	}
	f := strings.Fields(string(out))
	if len(f) == 0 {
		return "", "", fmt.Errorf("docker bridge network has no IPv4 subnet")
	}
	subnet = f[0]
	if len(f) > 1 {
		return f[1], subnet, nil
	}
	// Older engines leave Gateway empty for the default bridge: it is the subnet's first host.
	_, ipnet, err := net.ParseCIDR(subnet)
	if err != nil {
		return "", "", err
	}
	ip := ipnet.IP.To4()
	if ip == nil {
		return "", "", fmt.Errorf("bridge subnet %s is not IPv4", subnet)
	}
	ip[3]++
	return ip.String(), subnet, nil
}

func sanitize(s string) string {
	b := []byte(strings.ToLower(s))
	for i, c := range b {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			b[i] = '_'
		}
	}
	if len(b) > 30 {
		b = b[:30]
	}
	return "t_" + string(b)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
