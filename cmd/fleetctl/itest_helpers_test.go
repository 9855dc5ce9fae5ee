package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The integration tests run the real fleetctl binary against the real Docker
// engine and the stand-in image. Each test has its own fleet name, ports and
// temp dir, and removes everything labelled with its fleet, also on failure.

// standinImage is the stand-in image the tests run; FLEETCTL_STANDIN_IMAGE
// overrides it (make test STANDIN=... passes it), so several checkouts can
// test on one engine without rebuilding each other's image.
var standinImage = func() string {
	if v := os.Getenv("FLEETCTL_STANDIN_IMAGE"); v != "" {
		return v
	}
	return "fleetctl/webui-standin:dev"
}()

// secret values the tests grep every output for.
const testOAuthSecret = "oauth-SECRET-value-7f3a9c"

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

func fleetctlBin(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if p := os.Getenv("FLEETCTL_BIN"); p != "" {
			binPath = p
			return
		}
		dir, err := os.MkdirTemp("", "fleetctl-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "fleetctl")
		out, err := exec.Command("go", "build", "-tags", "fleetctl_testhooks", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// requireDocker fails (never silently skips) unless FLEETCTL_SKIP_DOCKER=1.
func requireDocker(t *testing.T) {
	t.Helper()
	if os.Getenv("FLEETCTL_SKIP_DOCKER") == "1" {
		t.Skip("FLEETCTL_SKIP_DOCKER=1")
	}
	if out, err := exec.Command("docker", "image", "inspect", "--format", "{{.Id}}", standinImage).CombinedOutput(); err != nil {
		t.Fatalf("the stand-in image %s is needed (run 'make standin'): %v: %s", standinImage, err, out)
	}
}

type testFleet struct {
	t     *testing.T
	name  string
	dir   string
	file  string
	ports []int
	seed  string
}

type clientDef struct {
	name, display string
	port          int
	extra         string // raw YAML lines appended to the client entry
}

func newTestFleet(t *testing.T, n int) *testFleet {
	t.Helper()
	requireDocker(t)
	f := &testFleet{t: t, name: "it-" + randHex(4), dir: t.TempDir(), seed: randHex(32)}
	f.file = filepath.Join(f.dir, "fleet.yaml")
	if err := os.WriteFile(filepath.Join(f.dir, "seed"), []byte(f.seed+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.ports = freePorts(t, n)
	t.Cleanup(f.cleanup)
	return f
}

func (f *testFleet) clients() []clientDef {
	var cs []clientDef
	for i, p := range f.ports {
		cs = append(cs, clientDef{name: fmt.Sprintf("c%d", i), display: fmt.Sprintf("Client %d", i), port: p})
	}
	return cs
}

// write renders fleet.yaml; defaultsExtra is raw YAML under defaults.
func (f *testFleet) write(cs []clientDef, defaultsExtra string) {
	f.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: fleetctl/v1\nfleet: %s\nsecretKeySeed: ${file:./seed}\n", f.name)
	fmt.Fprintf(&b, "defaults:\n  image: %s\n  pullPolicy: never\n  restartPolicy: \"no\"\n  healthCheck:\n    timeout: 30s\n    interval: 100ms\n", standinImage)
	fmt.Fprintf(&b, "  oauth:\n    google:\n      clientID: test.apps.googleusercontent.com\n      clientSecret: ${env:IT_OAUTH_SECRET}\n    allowedDomains: [example.com]\n")
	if !strings.Contains(defaultsExtra, "naming:") {
		// Object names carry the fleet name: tests share one engine.
		b.WriteString("  naming:\n    container: \"{fleet}-{client}\"\n    volume: \"{fleet}-{client}-data\"\n")
	}
	b.WriteString(defaultsExtra)
	b.WriteString("clients:\n")
	for _, c := range cs {
		fmt.Fprintf(&b, "  - name: %s\n    port: %d\n    domain: %s.example.com\n    displayName: %s\n", c.name, c.port, c.name, c.display)
		b.WriteString(c.extra)
	}
	if err := os.WriteFile(f.file, []byte(b.String()), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// ctr is the container name of a client of this test's fleet.
func (f *testFleet) ctr(client string) string { return f.name + "-" + client }

type result struct {
	stdout, stderr string
	code           int
}

func (r result) all() string { return r.stdout + r.stderr }

func (f *testFleet) cmd(ctx context.Context, args ...string) *exec.Cmd {
	full := append([]string{args[0], "-f", f.file}, args[1:]...)
	cmd := exec.CommandContext(ctx, fleetctlBin(f.t), full...)
	cmd.Env = append(os.Environ(), "IT_OAUTH_SECRET="+testOAuthSecret)
	return cmd
}

// run executes fleetctl and checks that no output carries a secret value.
func (f *testFleet) run(args ...string) result {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := f.cmd(ctx, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		f.t.Fatalf("fleetctl %v: %v", args, err)
	}
	f.noSecrets("fleetctl "+strings.Join(args, " "), r.all())
	return r
}

func (f *testFleet) mustApply() result {
	f.t.Helper()
	r := f.run("apply", "--auto-approve")
	if r.code != 0 {
		f.t.Fatalf("apply exit %d\n%s", r.code, r.all())
	}
	return r
}

func (f *testFleet) noSecrets(what, text string) {
	f.t.Helper()
	for _, s := range []string{testOAuthSecret, f.seed, testResticPassword} {
		if strings.Contains(text, s) {
			f.t.Fatalf("%s printed a secret value", what)
		}
	}
}

func (f *testFleet) cleanup() {
	ids := dockerCLI(f.t, "ps", "-aq", "--filter", "label=io.fleetctl.fleet="+f.name)
	if ids != "" {
		exec.Command("docker", append([]string{"rm", "-f"}, strings.Fields(ids)...)...).Run()
	}
	vols := dockerCLI(f.t, "volume", "ls", "-q", "--filter", "label=io.fleetctl.fleet="+f.name)
	if vols != "" {
		exec.Command("docker", append([]string{"volume", "rm", "-f"}, strings.Fields(vols)...)...).Run()
	}
}

// dockerCLI runs the docker CLI (an independent view of the engine).
func dockerCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Logf("docker %v: %v: %s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// containerID returns the ID of the named container ("" when absent).
func containerID(t *testing.T, name string) string {
	out, err := exec.Command("docker", "inspect", "--format", "{{.Id}}", name).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// fleetContainers lists the names of every container of the fleet.
func (f *testFleet) containers() []string {
	out := dockerCLI(f.t, "ps", "-a", "--filter", "label=io.fleetctl.fleet="+f.name, "--format", "{{.Names}}")
	if out == "" {
		return nil
	}
	return strings.Fields(out)
}

func (f *testFleet) volumes() []string {
	out := dockerCLI(f.t, "volume", "ls", "-q", "--filter", "label=io.fleetctl.fleet="+f.name)
	if out == "" {
		return nil
	}
	return strings.Fields(out)
}

func getJSON(t *testing.T, port int, path string, v any) int {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
	if err != nil {
		t.Fatalf("GET %s on %d: %v", path, port, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if v != nil && resp.StatusCode == 200 {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, body)
		}
	}
	return resp.StatusCode
}

func postJSON(t *testing.T, port int, path string, v any) {
	t.Helper()
	b, _ := json.Marshal(v)
	resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d%s", port, path), "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("POST %s: HTTP %d", path, resp.StatusCode)
	}
}

// uiName is how a client shows displayName: like Open WebUI (env.py), the
// stand-in appends " (Open WebUI)" to any WEBUI_NAME but "Open WebUI".
func uiName(display string) string {
	if display == "Open WebUI" {
		return display
	}
	return display + " (Open WebUI)"
}

// appName is the name a client's /api/config serves.
func appName(t *testing.T, port int) string {
	var cfg struct {
		Name string `json:"name"`
	}
	if code := getJSON(t, port, "/api/config", &cfg); code != 200 {
		t.Fatalf("/api/config on %d: HTTP %d", port, code)
	}
	return cfg.Name
}

// nameNow asks a client its name once, for polling: "" while it does not
// answer (a recreate may stop it between two requests).
func nameNow(port int) string {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/api/config", port))
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var cfg struct {
		Name string `json:"name"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&cfg) != nil {
		return ""
	}
	return cfg.Name
}

func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ls []net.Listener
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
