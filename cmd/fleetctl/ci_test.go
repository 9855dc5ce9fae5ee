package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The steps of the CI examples (examples/ci/fleetctl-ci.sh, which both
// pipelines call) against the real engine and the stand-in: validate, plan
// with changes, the job summary and outputs, apply of the saved plan, a
// re-plan without changes; a stale plan refused with nothing changed.

type ciRun struct {
	f                *testFleet
	dir              string // the pipeline's working directory
	summary, outputs string // GITHUB_STEP_SUMMARY, GITHUB_OUTPUT
	planFile, planMD string
	planText         string
}

func newCIRun(t *testing.T, f *testFleet) *ciRun {
	dir := t.TempDir()
	return &ciRun{f: f, dir: dir,
		summary: filepath.Join(dir, "summary.md"), outputs: filepath.Join(dir, "outputs"),
		planFile: filepath.Join(dir, "plan.json"), planText: filepath.Join(dir, "plan.txt"), planMD: filepath.Join(dir, "plan.md")}
}

// step runs the script as the workflow does: GitHub's summary and output
// files, the secrets in the environment, fleetctl on PATH is ours.
func (c *ciRun) step(verb string) result {
	t := c.f.t
	t.Helper()
	script, err := filepath.Abs(ciScript)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, script, verb)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(),
		"FLEETCTL="+fleetctlBin(t), "FLEET_FILE="+c.f.file,
		"GITHUB_STEP_SUMMARY="+c.summary, "GITHUB_OUTPUT="+c.outputs,
		"IT_OAUTH_SECRET="+testOAuthSecret)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("fleetctl-ci.sh %s: %v", verb, err)
	}
	c.f.noSecrets("fleetctl-ci.sh "+verb, r.all())
	for _, file := range []string{c.summary, c.outputs, c.planFile, c.planText, c.planMD} {
		b, _ := os.ReadFile(file)
		c.f.noSecrets(file, string(b))
	}
	return r
}

func (c *ciRun) read(file string) string {
	b, err := os.ReadFile(file)
	if err != nil {
		c.f.t.Fatal(err)
	}
	return string(b)
}

// lastOutput is the last value the steps gave key in GITHUB_OUTPUT.
func (c *ciRun) lastOutput(key string) string {
	v := ""
	for _, line := range strings.Split(c.read(c.outputs), "\n") {
		if k, val, ok := strings.Cut(line, "="); ok && k == key {
			v = val
		}
	}
	return v
}

func TestCIScriptPlanApplyReplan(t *testing.T) {
	f := newTestFleet(t, 2)
	cs := f.clients()
	f.write(cs, "")
	ci := newCIRun(t, f)

	// A pull request: validate, plan with changes (fleetctl exits 2, the
	// step succeeds and says changes=true), the summary has the plan text.
	r := ci.step("plan")
	if r.code != 0 || !strings.Contains(r.stdout, "is valid") || ci.lastOutput("changes") != "true" {
		t.Fatalf("plan step: exit %d, changes=%q\n%s", r.code, ci.lastOutput("changes"), r.all())
	}
	if d := f.run("plan", "--detailed-exitcode"); d.code != exitChanges {
		t.Fatalf("plan --detailed-exitcode: exit %d, want 2", d.code)
	}
	show := runBin(t, "show", ci.planFile)
	sum := ci.read(ci.summary)
	if !strings.HasPrefix(sum, "### fleetctl plan: Plan: 4 to add, 0 to change, 0 to destroy. Merging applies exactly this plan.\n\n```text\n") ||
		!strings.Contains(sum, show.stdout) || ci.read(ci.planText) != show.stdout || ci.read(ci.planMD) != sum {
		t.Fatalf("summary:\n%s\nplan.txt:\n%s\nshow:\n%s", sum, ci.read(ci.planText), show.stdout)
	}
	if len(f.containers()) != 0 {
		t.Fatal("the plan step created containers")
	}

	// The merge: apply exactly the saved plan, then nothing is left to do.
	r = ci.step("apply")
	if r.code != 0 || !strings.Contains(r.stdout, "The fleet matches "+f.file) {
		t.Fatalf("apply step: exit %d\n%s", r.code, r.all())
	}
	for _, c := range cs {
		if got := appName(t, c.port); got != uiName(c.display) {
			t.Errorf("client %s answers %q", c.name, got)
		}
	}
	if !strings.Contains(ci.read(ci.summary), "### fleetctl apply: done\n") {
		t.Errorf("no apply summary:\n%s", ci.read(ci.summary))
	}
	r = ci.step("plan")
	if r.code != 0 || ci.lastOutput("changes") != "false" || !strings.Contains(ci.read(ci.planMD), "### fleetctl plan: No changes") {
		t.Fatalf("re-plan step: exit %d, changes=%q\n%s\n%s", r.code, ci.lastOutput("changes"), r.all(), ci.read(ci.planMD))
	}
	if d := f.run("plan", "--detailed-exitcode"); d.code != exitOK {
		t.Fatalf("plan --detailed-exitcode after apply: exit %d\n%s", d.code, d.all())
	}

	// A stale plan: reviewed, then the host changes before the merge.
	cs[0].display = "Renamed Zero"
	f.write(cs, "")
	if r = ci.step("plan"); r.code != 0 || ci.lastOutput("changes") != "true" {
		t.Fatalf("plan step: exit %d\n%s", r.code, r.all())
	}
	dockerCLI(t, "stop", f.ctr("c1"))
	before := containerID(t, f.ctr("c0"))
	r = ci.step("apply")
	if r.code != 1 || !strings.Contains(r.stderr, "the saved plan is stale; nothing was changed. Re-plan") ||
		!strings.Contains(r.stdout, "the Docker host changed since the plan was made") {
		t.Fatalf("stale apply step: exit %d\n%s", r.code, r.all())
	}
	if !strings.Contains(ci.read(ci.summary), "### fleetctl apply: the saved plan is stale, nothing was changed\n") {
		t.Errorf("no stale summary:\n%s", ci.read(ci.summary))
	}
	if containerID(t, f.ctr("c0")) != before || appName(t, cs[0].port) != uiName("Client 0") {
		t.Error("a stale plan changed client c0")
	}
	// Re-planned by a human, the new plan applies.
	if r = ci.step("plan"); r.code != 0 {
		t.Fatal(r.all())
	}
	if r = ci.step("apply"); r.code != 0 || appName(t, cs[0].port) != uiName("Renamed Zero") || appName(t, cs[1].port) != uiName("Client 1") {
		t.Fatalf("apply of the new plan: exit %d\n%s", r.code, r.all())
	}
}

// An invalid fleet.yaml fails the plan step before Docker, with fleetctl's
// diagnostics in the summary; apply without a plan refuses.
func TestCIScriptInvalidFleet(t *testing.T) {
	f := newTestFleet(t, 1)
	f.write(f.clients(), "")
	raw, _ := os.ReadFile(f.file)
	os.WriteFile(f.file, bytes.Replace(raw, []byte("displayName:"), []byte("displyName:"), 1), 0o644)
	ci := newCIRun(t, f)
	r := ci.step("plan")
	want := `clients[0].displyName: unknown field; did you mean "displayName"?`
	if r.code != 1 || !strings.Contains(r.stderr, want) || !strings.Contains(ci.read(ci.summary), "### fleetctl validate failed\n") ||
		!strings.Contains(ci.read(ci.summary), want) {
		t.Fatalf("plan step: exit %d\n%s\nsummary:\n%s", r.code, r.all(), ci.read(ci.summary))
	}
	if _, err := os.Stat(ci.planFile); err == nil {
		t.Error("a plan file was written for an invalid fleet.yaml")
	}
	if r = ci.step("apply"); r.code != 1 || !strings.Contains(r.stderr, "no saved plan") {
		t.Fatalf("apply step without a plan: exit %d\n%s", r.code, r.all())
	}
}

// ssh-setup installs the deploy key for the host of DOCKER_HOST only, with
// strict host key checking; it needs no Docker.
func TestCIScriptSSHSetup(t *testing.T) {
	home := t.TempDir()
	run := func(dockerHost string) (string, error) {
		cmd := exec.Command(ciScript, "ssh-setup")
		cmd.Env = append(os.Environ(), "HOME="+home, "DOCKER_HOST="+dockerHost,
			"FLEET_SSH_KEY=-----BEGIN OPENSSH PRIVATE KEY-----\nkey-body\n-----END OPENSSH PRIVATE KEY-----",
			"FLEET_SSH_KNOWN_HOSTS=fleet.example.com ssh-ed25519 AAAAC3Nza")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run("ssh://deploy@fleet.example.com:2222"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	key, err := os.Stat(filepath.Join(home, ".ssh", "fleetctl_deploy"))
	if err != nil || key.Mode().Perm() != 0o600 {
		t.Fatalf("deploy key: %v %v", key, err)
	}
	cfg, _ := os.ReadFile(filepath.Join(home, ".ssh", "config"))
	known, _ := os.ReadFile(filepath.Join(home, ".ssh", "known_hosts"))
	if !strings.Contains(string(cfg), "Host fleet.example.com\n  IdentityFile ~/.ssh/fleetctl_deploy\n  IdentitiesOnly yes\n  StrictHostKeyChecking yes\n") ||
		string(known) != "fleet.example.com ssh-ed25519 AAAAC3Nza\n" {
		t.Errorf("config:\n%s\nknown_hosts:\n%s", cfg, known)
	}
	for _, bad := range []string{"tcp://fleet.example.com:2376", "ssh://deploy@bad;host"} {
		if out, err := run(bad); err == nil {
			t.Errorf("DOCKER_HOST %s accepted: %s", bad, out)
		}
	}
}
