package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// variantImage builds a stand-in image of its own (a new image ID) from the
// test's stand-in, with extra Dockerfile lines, and removes it afterwards.
func variantImage(t *testing.T, name string, lines ...string) string {
	t.Helper()
	repo, _, _ := strings.Cut(standinImage, ":")
	tag := repo + ":it-" + name + "-" + randHex(4)
	dir := t.TempDir()
	df := "FROM " + standinImage + "\nLABEL io.fleetctl.test.variant=" + tag + "\n" + strings.Join(lines, "\n") + "\n"
	if err := os.WriteFile(dir+"/Dockerfile", []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("docker", "build", "-q", "-t", tag, dir).CombinedOutput(); err != nil {
		t.Fatalf("docker build %s: %v\n%s", tag, err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", tag).Run() })
	return tag
}

func imageID(t *testing.T, ref string) string {
	return dockerCLI(t, "image", "inspect", "--format", "{{.Id}}", ref)
}

func runningImage(t *testing.T, ctr string) string {
	return dockerCLI(t, "inspect", "--format", "{{.Image}}", ctr)
}

// A broken image stops the rollout after the canary: the canary is back on
// its old container (healthy, data kept), the others were never touched.
func TestRolloutStopsAfterBrokenCanary(t *testing.T) {
	f := newTestFleet(t, 3)
	cs := f.clients()
	for i := range cs {
		cs[i].extra = "    healthCheck:\n      timeout: 4s\n"
	}
	f.write(cs, "")
	f.mustApply()
	postJSON(t, cs[0].port, "/_standin/chats", map[string]string{"id": "chat-1", "user_id": "u1", "title": "keep me", "chat": `{"messages":[]}`})
	ids := map[string]string{}
	for _, c := range cs {
		ids[c.name] = containerID(t, f.ctr(c.name))
	}
	good := imageID(t, standinImage)

	// Fails every probe the gate may use: /health 503 and /ready 503.
	broken := variantImage(t, "broken", "ENV STANDIN_UNHEALTHY=1 STANDIN_DB_DOWN=1")
	data, _ := os.ReadFile(f.file)
	os.WriteFile(f.file, []byte(strings.Replace(string(data), "image: "+standinImage, "image: "+broken, 1)), 0o644)
	r := f.run("plan")
	if !strings.Contains(r.stdout, "Rollout of "+broken+" to 3 clients: canary c0 first, then the other 2, at most 2 at a time") {
		t.Fatalf("plan does not show the rollout:\n%s", r.all())
	}
	r = f.run("apply", "--auto-approve")
	if r.code != 1 || !strings.Contains(r.stdout, "Rollout of "+broken+" stopped: c0 failed") ||
		!strings.Contains(r.stdout, "Not updated (still on their old image): c1, c2.") {
		t.Fatalf("apply: exit %d\n%s", r.code, r.all())
	}
	if got := runningImage(t, f.ctr("c0")); got != good || containerID(t, f.ctr("c0")) != ids["c0"] {
		t.Fatalf("canary not back on its old container: image %s", got)
	}
	var chat struct{ Title string }
	if code := getJSON(t, cs[0].port, "/_standin/chats/chat-1", &chat); code != 200 || chat.Title != "keep me" {
		t.Fatalf("canary data: HTTP %d %+v", code, chat)
	}
	for _, c := range cs[1:] {
		if containerID(t, f.ctr(c.name)) != ids[c.name] || runningImage(t, f.ctr(c.name)) != good {
			t.Errorf("%s was touched by a stopped rollout", c.name)
		}
	}
	if names := f.containers(); len(names) != 3 {
		t.Fatalf("containers %v, want 3", names)
	}
}

// rollback pins the image a container replaced in fleet.yaml and applies it;
// the next plan is empty, so watch would not undo it.
func TestRollbackPinsThePreviousImage(t *testing.T) {
	f := newTestFleet(t, 2)
	cs := f.clients()
	f.write(cs, "")
	f.mustApply()
	good := imageID(t, standinImage)
	v2 := variantImage(t, "v2")
	data, _ := os.ReadFile(f.file)
	os.WriteFile(f.file, []byte(strings.Replace(string(data), "image: "+standinImage, "image: "+v2, 1)), 0o644)
	f.mustApply()
	if runningImage(t, f.ctr("c0")) != imageID(t, v2) {
		t.Fatal("c0 not on v2")
	}
	if r := f.run("rollback", "c9"); r.code != 1 {
		t.Fatalf("rollback of an unknown client: exit %d", r.code)
	}
	r := f.run("rollback", "c0")
	if r.code != 0 || !strings.Contains(r.stdout, "+     image: "+standinImage+" # pinned by fleetctl rollback") {
		t.Fatalf("rollback: exit %d\n%s", r.code, r.all())
	}
	if got := runningImage(t, f.ctr("c0")); got != good {
		t.Fatalf("c0 runs %s after rollback, want %s", got, good)
	}
	if runningImage(t, f.ctr("c1")) != imageID(t, v2) {
		t.Fatal("rollback of c0 touched c1")
	}
	if r := f.run("plan", "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("plan after rollback: exit %d\n%s", r.code, r.all())
	}
	// The rolled-back container records v2, so a second rollback goes forward again.
	if r := f.run("rollback", "c0"); r.code != 0 || runningImage(t, f.ctr("c0")) != imageID(t, v2) {
		t.Fatalf("second rollback: exit %d\n%s", r.code, r.all())
	}
}

// stop and start change state: in fleet.yaml (comments kept) and apply it;
// restart keeps the container and fleet.yaml; list shows both sides.
func TestStopStartRestartList(t *testing.T) {
	f := newTestFleet(t, 2)
	cs := f.clients()
	cs[0].extra = "    # the first client\n"
	f.write(cs, "")
	f.mustApply()

	r := f.run("stop", "c0")
	if r.code != 0 || !strings.Contains(r.stdout, "+     state: stopped") {
		t.Fatalf("stop: exit %d\n%s", r.code, r.all())
	}
	data, _ := os.ReadFile(f.file)
	if !strings.Contains(string(data), "state: stopped") || !strings.Contains(string(data), "# the first client") {
		t.Fatalf("fleet.yaml after stop:\n%s", data)
	}
	if st := dockerCLI(t, "inspect", "--format", "{{.State.Status}}", f.ctr("c0")); st != "exited" {
		t.Fatalf("c0 is %s after stop", st)
	}
	if r := f.run("plan", "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("plan after stop: exit %d\n%s", r.code, r.all())
	}
	var list struct {
		Clients []listRow `json:"clients"`
	}
	r = f.run("list", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list.Clients) != 2 ||
		list.Clients[0].Desired != "stopped" || list.Clients[0].State != "exited" || list.Clients[1].State != "running" {
		t.Fatalf("list --json: %v\n%s", err, r.all())
	}
	if r := f.run("start", "c0"); r.code != 0 || !strings.Contains(r.stdout, "+     state: running") {
		t.Fatalf("start: exit %d\n%s", r.code, r.all())
	}
	if got := appName(t, cs[0].port); got != uiName(cs[0].display) {
		t.Fatalf("c0 after start answers %q", got)
	}
	id := containerID(t, f.ctr("c1"))
	started := dockerCLI(t, "inspect", "--format", "{{.State.StartedAt}}", f.ctr("c1"))
	before, _ := os.ReadFile(f.file)
	if r := f.run("restart", "c1"); r.code != 0 || !strings.Contains(r.stdout, "restart requested") {
		t.Fatalf("restart: exit %d\n%s", r.code, r.all())
	}
	after, _ := os.ReadFile(f.file)
	if containerID(t, f.ctr("c1")) != id || string(after) != string(before) ||
		dockerCLI(t, "inspect", "--format", "{{.State.StartedAt}}", f.ctr("c1")) == started {
		t.Fatal("restart must restart the same container and leave fleet.yaml alone")
	}
	if r := f.run("stop"); r.code != 1 {
		t.Fatalf("stop without clients: exit %d", r.code)
	}
}

// runLogs runs fleetctl logs (whose -f is --follow) with --file.
func (f *testFleet) logs(args ...string) result {
	f.t.Helper()
	cmd := exec.Command(fleetctlBin(f.t), append([]string{"logs", "--file", f.file}, args...)...)
	cmd.Env = append(os.Environ(), "IT_OAUTH_SECRET="+testOAuthSecret)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	}
	f.noSecrets("fleetctl logs", r.all())
	return r
}

// Several clients' lines come out prefixed by name (no colour into a pipe),
// and a secret value a client logs is masked.
func TestLogsPrefixedAndMasked(t *testing.T) {
	f := newTestFleet(t, 2)
	cs := f.clients()
	// The stand-in echoes a bad STANDIN_START_DELAY in its error and exits.
	cs[1].extra = "    env:\n      STANDIN_START_DELAY: ${env:IT_OAUTH_SECRET}\n    healthCheck:\n      timeout: 3s\n"
	f.write(cs, "")
	if r := f.run("apply", "--auto-approve"); r.code != 1 {
		t.Fatalf("apply of a client that exits: exit %d\n%s", r.code, r.all())
	}
	r := f.logs("c0", "c1", "--tail", "20")
	if r.code != 0 || !strings.Contains(r.stdout, "c0 | webui-standin") ||
		!strings.Contains(r.stdout, `c1 | webui-standin: configuration error: STANDIN_START_DELAY="(sensitive)"`) ||
		strings.Contains(r.stdout, "\x1b[") {
		t.Fatalf("logs: exit %d\n%s", r.code, r.all())
	}
	if r := f.logs("c0", "--since", "1h", "--tail", "1"); r.code != 0 || strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("logs --tail 1: exit %d\n%s", r.code, r.all())
	}
	if r := f.logs("nope"); r.code != 1 || !strings.Contains(r.stderr, `no client "nope"`) {
		t.Fatalf("logs of an unknown client: exit %d\n%s", r.code, r.all())
	}
}

// runStdin runs fleetctl -f FILE with stdin.
func (f *testFleet) runStdin(stdin string, args ...string) result {
	f.t.Helper()
	cmd := f.cmd(context.Background(), args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	}
	f.noSecrets("fleetctl "+strings.Join(args, " "), r.all())
	return r
}

// destroy is refused without the client's name typed (or --yes), with or
// without --delete-data; confirmed, it removes the container and the
// fleet.yaml entry and keeps the volume.
func TestDestroyNeedsConfirmationAndKeepsTheVolume(t *testing.T) {
	f := newTestFleet(t, 2)
	cs := f.clients()
	f.write(cs, "")
	f.mustApply()
	before, _ := os.ReadFile(f.file)
	for _, try := range []struct {
		stdin string
		args  []string
	}{{"", []string{"destroy", "c0"}}, {"c1\n", []string{"destroy", "c0"}}, {"", []string{"destroy", "c0", "--delete-data"}}} {
		r := f.runStdin(try.stdin, try.args...)
		after, _ := os.ReadFile(f.file)
		if r.code != 1 || !strings.Contains(r.stderr, "refused") || string(after) != string(before) || containerID(t, f.ctr("c0")) == "" {
			t.Fatalf("%v with stdin %q: exit %d, fleet.yaml or container changed\n%s", try.args, try.stdin, r.code, r.all())
		}
	}
	r := f.runStdin("c0\n", "destroy", "c0")
	if r.code != 0 || !strings.Contains(r.stdout, "client removed from fleet.yaml (prune); volume "+f.name+"-c0-data is kept") {
		t.Fatalf("destroy: exit %d\n%s", r.code, r.all())
	}
	after, _ := os.ReadFile(f.file)
	if strings.Contains(string(after), "name: c0") || containerID(t, f.ctr("c0")) != "" || containerID(t, f.ctr("c1")) == "" {
		t.Fatalf("after destroy: fleet.yaml\n%s", after)
	}
	if vols := strings.Join(f.volumes(), " "); !strings.Contains(vols, f.name+"-c0-data") {
		t.Fatalf("the volume went with destroy: %s", vols)
	}
	if r := f.run("plan", "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("plan after destroy: exit %d\n%s", r.code, r.all())
	}
}

// destroy --delete-data takes a fresh verified backup, says DATA WILL BE
// DELETED, and removes the volume too.
func TestDestroyDeleteDataAfterBackup(t *testing.T) {
	f := newTestFleet(t, 2)
	cs := f.clients()
	f.write(cs, "")
	f.mustApply()
	postJSON(t, cs[0].port, "/_standin/chats", map[string]string{"id": "chat-1", "user_id": "u1", "title": "backed up", "chat": `{"messages":[]}`})
	if r := f.runStdin("", "destroy", "c0", "--no-backup"); r.code != 1 {
		t.Fatalf("--no-backup without --delete-data: exit %d", r.code)
	}
	r := f.runStdin("", "destroy", "c0", "--delete-data", "--yes")
	if r.code != 0 || !strings.Contains(r.stdout, "remove volume: DATA WILL BE DELETED") || !strings.Contains(r.stdout, "c0: backup ") ||
		!strings.Contains(r.stdout, " verified: ") {
		t.Fatalf("destroy --delete-data: exit %d\n%s", r.code, r.all())
	}
	vols := strings.Join(f.volumes(), " ")
	if strings.Contains(vols, f.name+"-c0-data") || !strings.Contains(vols, f.name+"-c1-data") {
		t.Fatalf("volumes after destroy --delete-data: %s", vols)
	}
	entries, err := os.ReadDir(f.dir + "/backups")
	if err != nil || len(entries) == 0 {
		t.Fatalf("no backup kept beside fleet.yaml: %v", err)
	}
	if r := f.run("plan", "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("plan after destroy: exit %d\n%s", r.code, r.all())
	}
}
