package main

import (
	fleetstatus "github.com/quantabase/fleetctl/pkg/status"

	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestApplyThreeClientsThenNoOp(t *testing.T) {
	f := newTestFleet(t, 3)
	cs := f.clients()
	f.write(cs, "")

	if r := f.run("plan", "--detailed-exitcode"); r.code != 2 || !strings.Contains(r.stdout, "Plan: 6 to add, 0 to change, 0 to destroy.") {
		t.Fatalf("first plan: exit %d\n%s", r.code, r.all())
	}
	f.mustApply()
	for _, c := range cs {
		if got := appName(t, c.port); got != uiName(c.display) {
			t.Errorf("client %s answers as %q, want %q", c.name, got, c.display)
		}
	}
	if r := f.run("plan", "--detailed-exitcode"); r.code != 0 || !strings.Contains(r.stdout, "No changes.") {
		t.Fatalf("second plan: exit %d\n%s", r.code, r.all())
	}
	// Ports are published on 127.0.0.1 only (invariant 8).
	for _, c := range cs {
		b := dockerCLI(t, "port", f.ctr(c.name), "8080/tcp")
		if !strings.HasPrefix(b, "127.0.0.1:") {
			t.Errorf("%s published on %q, want 127.0.0.1", c.name, b)
		}
	}
	// Every output and every label stays free of secret values.
	r := f.run("status", "--json")
	var st struct {
		Clients []fleetstatus.Row `json:"clients"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, r.stdout)
	}
	for _, row := range st.Clients {
		if row.State != "running" || row.Health != "healthy" || row.Drift != "none" {
			t.Errorf("status row %+v", row)
		}
	}
	f.run("plan", "--json")
	out := filepath.Join(f.dir, "plan.json")
	f.run("plan", "--out", out)
	saved, _ := os.ReadFile(out)
	f.noSecrets("saved plan", string(saved))
	for _, c := range cs {
		f.noSecrets("labels", dockerCLI(t, "inspect", "--format", "{{json .Config.Labels}}", f.ctr(c.name)))
	}
}

func TestDisplayNameChangeRecreatesOnlyThatClient(t *testing.T) {
	f := newTestFleet(t, 3)
	cs := f.clients()
	f.write(cs, "")
	f.mustApply()

	postJSON(t, cs[0].port, "/_standin/chats", map[string]string{"id": "chat-1", "user_id": "u1", "title": "keep me", "chat": `{"messages":[]}`})
	var before struct{ SHA256 string }
	getJSON(t, cs[0].port, "/_standin/secret-key-digest", &before)
	ids := map[string]string{}
	for _, c := range cs {
		ids[c.name] = containerID(t, f.ctr(c.name))
	}

	cs[0].display = "Client Zero Renamed"
	f.write(cs, "")
	r := f.run("plan", "--detailed-exitcode")
	if r.code != 2 || !strings.Contains(r.stdout, "env WEBUI_NAME changed") ||
		!strings.Contains(r.stdout, `~ env.WEBUI_NAME: "Client 0" -> "Client Zero Renamed"`) ||
		!strings.Contains(r.stdout, "Plan: 0 to add, 1 to change, 0 to destroy.") {
		t.Fatalf("plan: exit %d\n%s", r.code, r.all())
	}
	f.mustApply()

	if id := containerID(t, f.ctr("c0")); id == ids["c0"] || id == "" {
		t.Fatalf("c0 was not recreated")
	}
	for _, c := range cs[1:] {
		if id := containerID(t, f.ctr(c.name)); id != ids[c.name] {
			t.Errorf("%s was recreated but did not change", c.name)
		}
	}
	if got := appName(t, cs[0].port); got != "Client Zero Renamed (Open WebUI)" {
		t.Fatalf("name %q", got)
	}
	var chat struct{ Title string }
	if code := getJSON(t, cs[0].port, "/_standin/chats/chat-1", &chat); code != 200 || chat.Title != "keep me" {
		t.Fatalf("data lost across recreate: HTTP %d %+v", code, chat)
	}
	var after struct{ SHA256 string }
	getJSON(t, cs[0].port, "/_standin/secret-key-digest", &after)
	if before.SHA256 == "" || after.SHA256 != before.SHA256 {
		t.Fatalf("WEBUI_SECRET_KEY changed across recreate (%q -> %q)", before.SHA256, after.SHA256)
	}
	var other struct{ SHA256 string }
	getJSON(t, cs[1].port, "/_standin/secret-key-digest", &other)
	if other.SHA256 == before.SHA256 {
		t.Fatal("two clients share a WEBUI_SECRET_KEY")
	}
	if names := f.containers(); len(names) != 3 {
		t.Fatalf("containers %v, want 3 (no parked .previous left)", names)
	}
}

func TestRemovedContainerIsRestoredWithItsData(t *testing.T) {
	f := newTestFleet(t, 2)
	cs := f.clients()
	f.write(cs, "")
	f.mustApply()
	postJSON(t, cs[1].port, "/_standin/chats", map[string]string{"id": "x", "user_id": "u", "title": "survives", "chat": "{}"})

	dockerCLI(t, "rm", "-f", f.ctr("c1"))
	r := f.run("plan", "--detailed-exitcode")
	if r.code != 2 || !strings.Contains(r.stdout, "+ container "+f.ctr("c1")) || !strings.Contains(r.stdout, "container missing") {
		t.Fatalf("plan after removal: exit %d\n%s", r.code, r.all())
	}
	f.mustApply()
	var chat struct{ Title string }
	if code := getJSON(t, cs[1].port, "/_standin/chats/x", &chat); code != 200 || chat.Title != "survives" {
		t.Fatalf("data not found after restore: HTTP %d %+v", code, chat)
	}
}

func TestUnhealthyRecreateRollsBack(t *testing.T) {
	f := newTestFleet(t, 1)
	cs := f.clients()
	f.write(cs, "")
	f.mustApply()
	old := containerID(t, f.ctr("c0"))

	// The gate is /ready: a database that is down fails it (/health would pass).
	cs[0].extra = "    env:\n      STANDIN_DB_DOWN: \"1\"\n    healthCheck:\n      timeout: 3s\n"
	f.write(cs, "")
	r := f.run("apply", "--auto-approve")
	if r.code != 1 || !strings.Contains(r.all(), "rolled back") {
		t.Fatalf("apply: exit %d\n%s", r.code, r.all())
	}
	if id := containerID(t, f.ctr("c0")); id != old {
		t.Fatalf("old container not restored under its name (id %q)", id)
	}
	if appName(t, cs[0].port) != uiName(cs[0].display) {
		t.Fatal("restored client does not answer")
	}
	if names := f.containers(); len(names) != 1 {
		t.Fatalf("containers %v", names)
	}
}

func TestStoppedStateAndOrphansAndPrune(t *testing.T) {
	f := newTestFleet(t, 2)
	cs := f.clients()
	f.write(cs, "")
	f.mustApply()

	cs[0].extra = "    state: stopped\n"
	f.write(cs[:1], "") // c1 leaves fleet.yaml
	r := f.run("plan")
	if !strings.Contains(r.stdout, "~ container "+f.ctr("c0")+" (client c0): stop") || !strings.Contains(r.stdout, "? "+f.ctr("c1")+" (client c1") {
		t.Fatalf("plan:\n%s", r.all())
	}
	f.mustApply()
	if s := dockerCLI(t, "inspect", "--format", "{{.State.Status}}", f.ctr("c0")); s != "exited" {
		t.Fatalf("c0 state %q", s)
	}
	if containerID(t, f.ctr("c1")) == "" {
		t.Fatal("orphan removed without prune")
	}
	if r := f.run("apply", "--auto-approve", "--prune"); r.code != 0 || !strings.Contains(r.stdout, "volume "+f.name+"-c1-data is kept") {
		t.Fatalf("prune: %s", r.all())
	}
	if containerID(t, f.ctr("c1")) != "" {
		t.Fatal("orphan not pruned")
	}
	if len(f.volumes()) != 2 {
		t.Fatalf("volumes %v: prune must never remove volumes", f.volumes())
	}
}

func TestPortConflictIsReportedAndOthersConverge(t *testing.T) {
	f := newTestFleet(t, 2)
	cs := f.clients()
	f.write(cs, "")
	blocker := "it-blocker-" + f.name
	// Running: the engine lists the port bindings of running containers only.
	dockerCLI(t, "run", "-d", "--name", blocker, "--label", "io.fleetctl.fleet="+f.name+"-other",
		"-p", "127.0.0.1:"+itoa(cs[1].port)+":8080", standinImage)
	t.Cleanup(func() { dockerCLI(t, "rm", "-f", blocker) })

	r := f.run("plan")
	if r.code != 1 || !strings.Contains(r.stdout, "host port "+itoa(cs[1].port)+" is already published by container "+blocker) {
		t.Fatalf("plan: exit %d\n%s", r.code, r.all())
	}
	r = f.run("apply", "--auto-approve")
	if r.code != 1 || appName(t, cs[0].port) != uiName(cs[0].display) || containerID(t, f.ctr("c1")) != "" {
		t.Fatalf("apply: exit %d\n%s", r.code, r.all())
	}
}

func TestMissingImageIsOneClearError(t *testing.T) {
	f := newTestFleet(t, 1)
	cs := f.clients()
	f.write(cs, "")
	os.WriteFile(f.file, []byte(strings.Replace(readFile(t, f.file), "pullPolicy: never", "pullPolicy: if-not-present", 1)), 0o644)
	os.WriteFile(f.file, []byte(strings.Replace(readFile(t, f.file), standinImage, "fleetctl/no-such-image:"+f.name, 1)), 0o644)
	r := f.run("apply", "--auto-approve")
	if r.code != 1 || !strings.Contains(r.all(), "fleetctl/no-such-image:"+f.name) || strings.Count(r.all(), "FAILED") != 1 {
		t.Fatalf("apply: exit %d\n%s", r.code, r.all())
	}
	// The advice fits the policy in force: if-not-present is already set
	// and the image is missing, so it says to build or load it.
	if strings.Contains(r.all(), "pullPolicy: if-not-present") || !strings.Contains(r.all(), "build or load it") {
		t.Errorf("advice does not fit pullPolicy: if-not-present:\n%s", r.all())
	}
}

func TestSavedPlanIsRefusedWhenStale(t *testing.T) {
	f := newTestFleet(t, 1)
	cs := f.clients()
	f.write(cs, "")
	f.mustApply()
	cs[0].display = "New Name"
	f.write(cs, "")
	out := filepath.Join(f.dir, "plan.json")
	if r := f.run("plan", "--out", out); r.code != 0 {
		t.Fatal(r.all())
	}
	dockerCLI(t, "stop", f.ctr("c0")) // the world changes after the plan
	r := f.run("apply", out)
	if r.code != 1 || !strings.Contains(r.stderr, "stale") {
		t.Fatalf("stale plan applied: exit %d\n%s", r.code, r.all())
	}
	dockerCLI(t, "start", f.ctr("c0"))
	f.run("plan", "--out", out)
	// Flags after the plan file (GNU style) are flags, not more files.
	if r := f.run("apply", out, "--auto-approve"); r.code != 0 || appName(t, cs[0].port) != "New Name (Open WebUI)" {
		t.Fatalf("fresh saved plan: exit %d\n%s", r.code, r.all())
	}
}

func TestConcurrentAppliesSerialize(t *testing.T) {
	f := newTestFleet(t, 3)
	f.write(f.clients(), "  env:\n    STANDIN_START_DELAY: 1s\n")
	var wg sync.WaitGroup
	res := make([]result, 2)
	for i := range res {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			res[i] = f.run("apply", "--auto-approve", "--lock-timeout", "2m")
		}(i)
	}
	wg.Wait()
	worked := 0
	for _, r := range res {
		if r.code != 0 {
			t.Fatalf("apply exit %d\n%s", r.code, r.all())
		}
		if strings.Contains(r.stdout, "Apply complete!") || strings.Contains(r.stdout, "Apply complete") {
			worked++
		}
	}
	if worked != 1 {
		t.Fatalf("want exactly one apply to do the work, the other to find no changes:\n%s\n----\n%s", res[0].all(), res[1].all())
	}
	if n := len(f.containers()); n != 3 {
		t.Fatalf("containers %d", n)
	}
}

func TestLockTimeoutNamesTheHolder(t *testing.T) {
	f := newTestFleet(t, 1)
	f.write(f.clients(), "  env:\n    STANDIN_START_DELAY: 4s\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := f.cmd(ctx, "apply", "--auto-approve")
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	defer first.Wait()
	waitFor(t, 20*time.Second, func() bool { return containerID(t, "fleetctl-lock-"+f.name) != "" })
	r := f.run("apply", "--auto-approve", "--lock-timeout", "1s")
	if r.code != 1 || !strings.Contains(r.stderr, "fleetctl apply") || !strings.Contains(r.stderr, "pid") {
		t.Fatalf("second apply: exit %d\n%s", r.code, r.all())
	}
}

func TestKill9DuringApplyThenApplyConverges(t *testing.T) {
	f := newTestFleet(t, 3)
	cs := f.clients()
	f.write(cs, "  env:\n    STANDIN_START_DELAY: 1500ms\n")
	f.mustApply()
	postJSON(t, cs[0].port, "/_standin/chats", map[string]string{"id": "k", "user_id": "u", "title": "kept", "chat": "{}"})

	// Kill fleetctl at different points of a fleet-wide recreate.
	for i, delay := range []time.Duration{300 * time.Millisecond, 900 * time.Millisecond, 1800 * time.Millisecond} {
		for j := range cs {
			cs[j].display = cs[j].name + " round " + itoa(i)
		}
		f.write(cs, "  env:\n    STANDIN_START_DELAY: 1500ms\n")
		cmd := f.cmd(context.Background(), "apply", "--auto-approve", "--parallelism", "3")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()

		f.mustApply()
		names := f.containers()
		if len(names) != 3 {
			t.Fatalf("round %d: containers %v", i, names)
		}
		for _, c := range cs {
			if got := appName(t, c.port); got != uiName(c.display) {
				t.Fatalf("round %d: %s answers %q", i, c.name, got)
			}
		}
		if r := f.run("plan", "--detailed-exitcode"); r.code != 0 {
			t.Fatalf("round %d: not converged:\n%s", i, r.all())
		}
	}
	if len(f.volumes()) != 3 {
		t.Fatalf("volumes %v", f.volumes())
	}
	var chat struct{ Title string }
	if code := getJSON(t, cs[0].port, "/_standin/chats/k", &chat); code != 200 || chat.Title != "kept" {
		t.Fatalf("data lost: %d %+v", code, chat)
	}
}

func TestBadSpecChangesNothing(t *testing.T) {
	f := newTestFleet(t, 1)
	cs := f.clients()
	f.write(cs, "")
	os.WriteFile(f.file, []byte(readFile(t, f.file)+"  - name: Bad_Name\n    port: 80\n"), 0o644)
	r := f.run("apply", "--auto-approve")
	if r.code != 1 || !strings.Contains(r.stderr, "fleet.yaml:") || !strings.Contains(r.stderr, "clients[1].port") {
		t.Fatalf("apply: exit %d\n%s", r.code, r.all())
	}
	if len(f.containers()) != 0 || len(f.volumes()) != 0 {
		t.Fatal("bad input had side effects")
	}
}

func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func readFile(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func itoa(i int) string { return strconv.Itoa(i) }
