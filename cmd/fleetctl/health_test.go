package main

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The "When a client is down" model (README), against the real engine.

const crashDBPassword = "crashpw-SECRET-4b7e1d"

// A client whose database is unreachable crash-loops under Docker's restart
// policy. Before: apply said "No changes" with exit 0, plan
// --detailed-exitcode exited 0 and status said DRIFT none.
func TestCrashLoopIsNeverConverged(t *testing.T) {
	f := newTestFleet(t, 1)
	url := "postgres://u:" + crashDBPassword + "@127.0.0.1:1/db"
	if err := os.WriteFile(filepath.Join(f.dir, "dburl"), []byte(url), 0o600); err != nil {
		t.Fatal(err)
	}
	cs := f.clients()
	cs[0].extra = "    restartPolicy: unless-stopped\n    database:\n      backend: postgres\n      url: ${file:./dburl}\n"
	f.write(cs, "")
	noPassword := func(what, out string) {
		t.Helper()
		if strings.Contains(out, crashDBPassword) {
			t.Fatalf("%s printed the database password:\n%s", what, out)
		}
	}

	r := f.run("apply", "--auto-approve")
	noPassword("apply", r.all())
	if r.code != 1 || !strings.Contains(r.all(), "restarted by the engine") && !strings.Contains(r.all(), "exited (code") {
		t.Fatalf("first apply: want a fast failure naming the exit or restart, got exit %d:\n%s", r.code, r.all())
	}
	// Left in Docker's restart loop, as an engine restart or an operator would.
	dockerCLI(t, "start", f.ctr("c0"))
	eventually(t, 60*time.Second, "restart count > 0", func() bool {
		n, _ := strconv.Atoi(dockerCLI(t, "inspect", "--format", "{{.RestartCount}}", f.ctr("c0")))
		return n > 0
	})

	r = f.run("plan", "--detailed-exitcode")
	noPassword("plan", r.all())
	if r.code != 2 || !strings.Contains(r.stdout, "Problems") || !strings.Contains(r.stdout, "crash-looping (") ||
		strings.Contains(r.stdout, "The fleet matches fleet.yaml") {
		t.Fatalf("plan --detailed-exitcode: want exit 2 and the crash loop under Problems, got %d:\n%s", r.code, r.all())
	}

	id := containerID(t, f.ctr("c0"))
	r = f.run("apply", "--auto-approve", "--json")
	noPassword("apply --json", r.all())
	var rep struct {
		Success  bool `json:"success"`
		Problems []struct {
			Client, Message string
		} `json:"problems"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("apply --json: %v\n%s", err, r.all())
	}
	if r.code != 1 || rep.Success || len(rep.Problems) != 1 || !strings.HasPrefix(rep.Problems[0].Message, "crash-looping (") ||
		!strings.Contains(r.stderr, "client c0 is crash-looping (") {
		t.Fatalf("apply of a crash loop: want exit 1, success false, the client named; got %d %+v:\n%s", r.code, rep, r.all())
	}
	if got := containerID(t, f.ctr("c0")); got != id {
		t.Fatal("apply recreated a crash-looping container that matches its spec")
	}

	r = f.run("status", "--json")
	noPassword("status", r.all())
	var st struct {
		Clients []struct {
			State, Health, Drift string
			Down                 bool
		} `json:"clients"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || len(st.Clients) != 1 {
		t.Fatalf("status --json: %v\n%s", err, r.all())
	}
	if c := st.Clients[0]; !c.Down || !strings.HasPrefix(c.State, "crash-looping (") || c.Drift == "none" || !strings.HasPrefix(c.Health, "unhealthy") {
		t.Fatalf("status of a crash loop: %+v", c)
	}
}

// Before: with restart policy unless-stopped a container exiting with code
// 3 restart-looped until the whole health timeout ran out.
func TestHealthGateFailsFastOnExit(t *testing.T) {
	f := newTestFleet(t, 1)
	cs := f.clients()
	cs[0].extra = "    restartPolicy: unless-stopped\n    healthCheck:\n      timeout: 10m\n    env:\n      STANDIN_EXIT_CODE: \"3\"\n"
	f.write(cs, "")
	r := f.run("apply", "--auto-approve")
	out := r.all()
	if r.code != 1 || strings.Contains(out, "not healthy after") ||
		!(strings.Contains(out, "exit code 3") || strings.Contains(out, "exited (code 3)")) ||
		!strings.Contains(out, "STANDIN_EXIT_CODE=3 set") {
		t.Fatalf("want a failure naming exit code 3 with the log line, before the timeout; got %d:\n%s", r.code, out)
	}
}

// A container recreated by hand with the client's name and copied labels
// but another environment. Before: plan said "No changes".
func TestDriftBehindCopiedLabels(t *testing.T) {
	f := newTestFleet(t, 1)
	f.write(f.clients(), "")
	f.mustApply()
	name := f.ctr("c0")

	r := f.run("status", "--json")
	if !strings.Contains(r.stdout, `"gate": "/ready"`) {
		t.Fatalf("status does not say the client is gated on /ready:\n%s", r.all())
	}

	var labels map[string]string
	if err := json.Unmarshal([]byte(dockerCLI(t, "inspect", "--format", "{{json .Config.Labels}}", name)), &labels); err != nil {
		t.Fatal(err)
	}
	dockerCLI(t, "rm", "-f", name)
	args := []string{"run", "-d", "--name", name, "-e", "WEBUI_NAME=HANDMADE",
		"-p", "127.0.0.1:" + strconv.Itoa(f.ports[0]) + ":8080", "-v", f.name + "-c0-data:/app/backend/data"}
	for k, v := range labels {
		args = append(args, "--label", k+"="+v)
	}
	dockerCLI(t, append(args, standinImage)...)
	eventually(t, 60*time.Second, "the hand-made container answers /ready", func() bool {
		resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(f.ports[0]) + "/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})

	r = f.run("plan", "--detailed-exitcode")
	if r.code != 2 || !strings.Contains(r.stdout, "env WEBUI_NAME changed (the running container differs from its labels)") ||
		!strings.Contains(r.stdout, "env WEBUI_SECRET_KEY added") || !strings.Contains(r.stdout, `~ env.WEBUI_NAME: "HANDMADE" -> "Client 0"`) ||
		strings.Contains(r.stdout, "config hash changed") {
		t.Fatalf("plan: want the differing fields named, got %d:\n%s", r.code, r.all())
	}
	if r = f.run("plan", "--detailed-exitcode", "--trust-labels"); r.code != 0 {
		t.Fatalf("plan --trust-labels: want the labels trusted (exit 0), got %d:\n%s", r.code, r.all())
	}
	f.mustApply()
	if r = f.run("plan", "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("plan after apply: %d\n%s", r.code, r.all())
	}
}

// A host port held by a process that is not a container. Before: plan did
// not see it, and apply failed leaving a Created container behind.
func TestPortHeldByAProcess(t *testing.T) {
	f := newTestFleet(t, 1)
	f.write(f.clients(), "")
	saved := filepath.Join(f.dir, "plan.json")
	if r := f.run("plan", "--out", saved); r.code != 0 {
		t.Fatalf("plan --out: %d\n%s", r.code, r.all())
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(f.ports[0]))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	r := f.run("plan")
	if r.code != 1 || !strings.Contains(r.stdout, "is already bound by a process on the Docker host that is not a container") {
		t.Fatalf("plan: want the port conflict, got %d:\n%s", r.code, r.all())
	}
	// The plan saved before the port was taken still runs: its start fails.
	r = f.run("apply", saved)
	if r.code != 1 {
		t.Fatalf("apply of the saved plan: want a failure, got %d:\n%s", r.code, r.all())
	}
	if cs := f.containers(); len(cs) != 0 {
		t.Fatalf("a container that did not start was left behind: %v\n%s", cs, r.all())
	}
}

func eventually(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
