package dockertest

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startTimeout bounds how long a new dockerd may take to answer.
const startTimeout = 60 * time.Second

// Daemon is one extra dockerd of a test.
type Daemon struct {
	Name string
	// Host is its endpoint, unix:///DIR/d.sock.
	Host string
	// Bridge is the bridge interface its containers use; Address is the
	// bridge's own IP on this machine, where ports published on it answer
	// (a "host address" a proxy on another host would use).
	Bridge  string
	Address string

	t       testing.TB
	dir     string
	socket  string
	pidfile string
	cmd     *exec.Cmd
	exited  chan struct{}
}

// Start runs a dockerd called name (for messages) and waits until it
// answers. The test is skipped when not run as root or without dockerd.
func Start(t testing.TB, name string) *Daemon {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("starting a dockerd needs root")
	}
	if _, err := exec.LookPath("dockerd"); err != nil {
		t.Skip("no dockerd on PATH")
	}
	// Short paths: containerd's socket lives under the exec root and a
	// unix socket path has at most 107 bytes.
	dir, err := os.MkdirTemp("", "fh")
	if err != nil {
		t.Fatal(err)
	}
	d := &Daemon{Name: name, t: t, dir: dir, socket: filepath.Join(dir, "d.sock"),
		pidfile: filepath.Join(dir, "d.pid"), exited: make(chan struct{})}
	d.Host = "unix://" + d.socket
	t.Cleanup(d.cleanup)
	cfg := filepath.Join(dir, "daemon.json")
	// vfs: no overlay mounts to leak, and the test images are tiny.
	if err := os.WriteFile(cfg, []byte(`{"storage-driver": "vfs"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d.Bridge, d.Address, err = makeBridge()
	if err != nil {
		t.Fatalf("dockertest %s: %v", name, err)
	}
	d.launch(cfg)
	return d
}

func (d *Daemon) launch(cfg string) {
	d.t.Helper()
	log, err := os.OpenFile(filepath.Join(d.dir, "dockerd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		d.t.Fatal(err)
	}
	d.cmd = exec.Command("dockerd", "--config-file", cfg, "--host", d.Host,
		"--data-root", filepath.Join(d.dir, "data"), "--exec-root", filepath.Join(d.dir, "exec"),
		"--pidfile", d.pidfile, "--bridge", d.Bridge, "--iptables=false", "--ip-masq=false")
	d.cmd.Stdout, d.cmd.Stderr = log, log
	// Its own process group: a ^C to the test run reaches the test, which
	// stops the daemon in order.
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		log.Close()
		d.t.Fatalf("dockertest %s: start dockerd: %v", d.Name, err)
	}
	d.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) {
		_ = cmd.Wait()
		log.Close()
		close(exited)
	}(d.cmd, d.exited)
	if err := d.waitReady(); err != nil {
		d.t.Fatalf("dockertest %s: %v\n%s", d.Name, err, d.Log())
	}
}

func (d *Daemon) waitReady() error {
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", d.socket)
		},
	}}
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-d.exited:
			return errors.New("dockerd exited during start-up")
		default:
		}
		if resp, err := hc.Get("http://d/_ping"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("dockerd did not answer within %s", startTimeout)
}

// Stop stops the daemon (SIGTERM to the pid in its pid file, SIGKILL after
// 30s) and waits for it: the host is down until Restart.
func (d *Daemon) Stop() {
	d.t.Helper()
	pid := d.pid()
	if pid == 0 {
		return
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(pid, syscall.SIGKILL)
		<-d.exited
	}
}

// Restart starts the daemon again on the same socket, data and bridge.
func (d *Daemon) Restart() {
	d.t.Helper()
	d.Stop()
	d.launch(filepath.Join(d.dir, "daemon.json"))
}

// pid is the running daemon's pid from its pid file (0 when not running).
func (d *Daemon) pid() int {
	select {
	case <-d.exited:
		return 0
	default:
	}
	b, err := os.ReadFile(d.pidfile)
	if err != nil {
		if d.cmd != nil && d.cmd.Process != nil {
			return d.cmd.Process.Pid
		}
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// Log is the daemon's log so far (for failure messages).
func (d *Daemon) Log() string {
	b, _ := os.ReadFile(filepath.Join(d.dir, "dockerd.log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

func (d *Daemon) cleanup() {
	if d.cmd != nil {
		d.Stop()
	}
	// A containerd the daemon could not stop (it was killed) has its own
	// pid file under the exec root.
	if b, err := os.ReadFile(filepath.Join(d.dir, "exec", "containerd", "containerd.pid")); err == nil {
		if pid, _ := strconv.Atoi(strings.TrimSpace(string(b))); pid > 0 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	unmountUnder(d.dir)
	if d.Bridge != "" {
		_ = exec.Command("ip", "link", "del", d.Bridge).Run()
	}
	if err := os.RemoveAll(d.dir); err != nil {
		d.t.Logf("dockertest %s: remove %s: %v", d.Name, d.dir, err)
	}
}

// unmountUnder lazily unmounts what is still mounted below dir (network
// namespaces, shm), deepest first.
func unmountUnder(dir string) {
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		return
	}
	defer f.Close()
	var points []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fs := strings.Fields(sc.Text()); len(fs) > 1 && strings.HasPrefix(fs[1], dir+"/") {
			points = append(points, fs[1])
		}
	}
	for i := len(points) - 1; i >= 0; i-- {
		_ = syscall.Unmount(points[i], syscall.MNT_DETACH)
	}
}

// makeBridge creates a bridge with a random name and a free 10.x.y.0/24
// subnet, and brings it up.
func makeBridge() (name, addr string, err error) {
	name = "br-fh" + randHex(3)
	for try := 0; try < 20; try++ {
		a, _ := rand.Int(rand.Reader, big.NewInt(40))
		b, _ := rand.Int(rand.Reader, big.NewInt(250))
		cidr := fmt.Sprintf("10.%d.%d.1/24", 200+a.Int64(), 1+b.Int64())
		if subnetInUse(cidr) {
			continue
		}
		if out, err := exec.Command("ip", "link", "add", name, "type", "bridge").CombinedOutput(); err != nil {
			return "", "", fmt.Errorf("ip link add %s: %v: %s", name, err, out)
		}
		if out, err := exec.Command("ip", "addr", "add", cidr, "dev", name).CombinedOutput(); err != nil {
			_ = exec.Command("ip", "link", "del", name).Run()
			return "", "", fmt.Errorf("ip addr add %s: %v: %s", cidr, err, out)
		}
		if out, err := exec.Command("ip", "link", "set", name, "up").CombinedOutput(); err != nil {
			_ = exec.Command("ip", "link", "del", name).Run()
			return "", "", fmt.Errorf("ip link set %s up: %v: %s", name, err, out)
		}
		return name, strings.TrimSuffix(cidr, "/24"), nil
	}
	return "", "", errors.New("no free 10.x.y.0/24 subnet found")
}

func subnetInUse(cidr string) bool {
	_, want, err := net.ParseCIDR(cidr)
	if err != nil {
		return true
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return true
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && (want.Contains(n.IP) || n.Contains(want.IP)) {
			return true
		}
	}
	return false
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
