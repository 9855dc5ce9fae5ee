package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// show needs neither Docker nor fleet.yaml; what is not a saved plan is an
// error naming the file.
func TestShowRefusesWhatIsNotAPlan(t *testing.T) {
	dir := t.TempDir()
	notJSON := filepath.Join(dir, "fleet.yaml")
	os.WriteFile(notJSON, []byte("apiVersion: fleetctl/v1\n"), 0o644)
	future := filepath.Join(dir, "future.json")
	os.WriteFile(future, []byte(`{"formatVersion": 9, "actions": []}`), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"show"}, "fleetctl show needs a saved plan file"},
		{[]string{"show", "a.json", "b.json"}, "takes one argument"},
		{[]string{"show", filepath.Join(dir, "missing.json")}, "read saved plan: open " + filepath.Join(dir, "missing.json")},
		{[]string{"show", notJSON}, "read saved plan " + notJSON + ": not a saved plan"},
		{[]string{"show", future, "--json"}, "unsupported formatVersion 9"},
	} {
		r := runCLI(t, tc.args...)
		if r.code != exitError || r.stdout != "" || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("fleetctl %v: exit %d, stdout %q, want %q in stderr %q", tc.args, r.code, r.stdout, tc.want, r.stderr)
		}
	}
}

// A saved plan holds no secret value, and show prints what plan printed.
// The secrets are distinctive: the OAuth secret, the seed, a ${file:} env
// secret and the WEBUI_SECRET_KEY derived from the seed.
func TestShowSavedPlan(t *testing.T) {
	f := newTestFleet(t, 2)
	const fileSecret = "show-FILE-secret-91c2e"
	if err := os.WriteFile(filepath.Join(f.dir, "api-key"), []byte(fileSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	cs := f.clients()
	cs[0].extra = "    env:\n      OPENAI_API_KEY: ${file:./api-key}\n"
	f.write(cs, "")
	out := filepath.Join(f.dir, "plan.json")
	planned := f.run("plan", "--out", out, "--detailed-exitcode")
	if planned.code != exitChanges {
		t.Fatalf("plan: exit %d\n%s", planned.code, planned.all())
	}
	saved, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{testOAuthSecret, f.seed, fileSecret}
	for _, c := range cs {
		m := hmac.New(sha256.New, []byte(f.seed))
		m.Write([]byte("webui-secret-key:" + f.name + "/" + c.name))
		secrets = append(secrets, hex.EncodeToString(m.Sum(nil)))
	}
	if !strings.Contains(string(saved), `"OPENAI_API_KEY": "(sensitive)"`) {
		t.Errorf("the env secret is not masked in the plan file:\n%s", saved)
	}

	text := runBin(t, "show", out)
	js := runBin(t, "show", out, "--json")
	for _, r := range []result{text, js} {
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("show: exit %d\n%s", r.code, r.all())
		}
	}
	for what, s := range map[string]string{"plan file": string(saved), "show": text.stdout, "show --json": js.stdout} {
		for _, v := range secrets {
			if strings.Contains(s, v) {
				t.Errorf("%s holds a secret value", what)
			}
		}
	}
	wantText, _, _ := strings.Cut(planned.stdout, "\nSaved the plan to ")
	if text.stdout != wantText {
		t.Errorf("show prints other text than plan:\n--- show\n%s\n--- plan\n%s", text.stdout, wantText)
	}
	var a, b any
	if json.Unmarshal(saved, &a) != nil || json.Unmarshal([]byte(js.stdout), &b) != nil || !reflect.DeepEqual(a, b) {
		t.Errorf("show --json differs from the plan file:\n%s", js.stdout)
	}
}

// runBin runs the fleetctl binary without -f (for verbs that read no
// fleet.yaml) and without any secret in its environment.
func runBin(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(fleetctlBin(t), args...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("fleetctl %v: %v", args, err)
	}
	return r
}
