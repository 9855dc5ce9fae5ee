package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The shared fleet files of the top-level testdata/ (pkg/fleet checks the
// loader on the same files): validate prints exactly the diagnostics of
// NAME.want and exits 1; --json lists them with their positions. A good file
// is valid, and its warnings (NAME.warn) are printed and listed.
func TestValidateTestdata(t *testing.T) {
	bin := fleetctlBin(t)
	bad := filepath.Join("..", "..", "testdata", "fleet", "bad")
	files, err := filepath.Glob(filepath.Join(bad, "*.yaml"))
	if err != nil || len(files) < 100 {
		t.Fatalf("bad cases: %d, %v", len(files), err)
	}
	for _, path := range files {
		name := filepath.Base(path)
		want, err := os.ReadFile(strings.TrimSuffix(path, ".yaml") + ".want")
		if err != nil {
			t.Fatal(err)
		}
		stdout, stderr, code := runIn(t, bad, bin, "validate", "-f", name)
		if code != 1 || stderr != string(want) || stdout != "" {
			t.Errorf("validate %s: exit %d\nstdout %q\nstderr:\n%s--- want:\n%s", name, code, stdout, stderr, want)
		}
		stdout, _, code = runIn(t, bad, bin, "validate", "-f", name, "--json")
		var out struct {
			Valid  bool
			Errors []struct {
				File         string
				Line, Column int
				Message      string
			}
		}
		if err := json.Unmarshal([]byte(stdout), &out); err != nil || code != 1 || out.Valid ||
			len(out.Errors) != strings.Count(string(want), "\n") || out.Errors[0].File != name || out.Errors[0].Line < 1 {
			t.Errorf("validate %s --json: exit %d, %v:\n%s", name, code, err, stdout)
		}
	}

	good := filepath.Join("..", "..", "testdata", "fleet", "good")
	for _, name := range []string{"defaulting.yaml", "env-key-case.yaml"} {
		warn, _ := os.ReadFile(filepath.Join(good, strings.TrimSuffix(name, ".yaml")+".warn"))
		stdout, stderr, code := runIn(t, good, bin, "validate", "-f", name)
		if code != 0 || stderr != string(warn) || !strings.Contains(stdout, name+" is valid") {
			t.Errorf("validate %s: exit %d\nstdout %s\nstderr:\n%s--- want:\n%s", name, code, stdout, stderr, warn)
		}
		stdout, _, code = runIn(t, good, bin, "validate", "-f", name, "--json")
		var out struct {
			Valid    bool
			Warnings []struct {
				Line, Column int
				Field        string
			}
		}
		if err := json.Unmarshal([]byte(stdout), &out); err != nil || code != 0 || !out.Valid || len(out.Warnings) != strings.Count(string(warn), "\n") {
			t.Errorf("validate %s --json: exit %d, %v:\n%s", name, code, err, stdout)
		}
	}
}

func runIn(t *testing.T, dir, bin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}
