package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// In-process tests of the command line itself: no Docker is needed.

type cliResult struct {
	code           int
	stdout, stderr string
}

func runCLI(t *testing.T, args ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	env := &cliEnv{stdin: strings.NewReader(""), stdout: &out, stderr: &errb}
	code := dispatch(context.Background(), env, args)
	return cliResult{code: code, stdout: out.String(), stderr: errb.String()}
}

// writeSpec writes a valid fleet.yaml with clients acme and beta whose
// secrets cannot be resolved (nothing here may need them).
func writeSpec(t *testing.T, dir string) string {
	t.Helper()
	file := filepath.Join(dir, "fleet.yaml")
	spec := "apiVersion: fleetctl/v1\nfleet: clitest\nsecretKeySeed: ${file:./no-such-seed}\n" +
		"defaults:\n  oauth:\n    google:\n      clientID: x.apps.googleusercontent.com\n      clientSecret: ${env:FLEETCTL_TEST_UNSET_SECRET}\n" +
		"clients:\n  - name: acme\n    port: 8081\n  - name: beta\n    port: 8082\n  - name: acme-two\n    port: 8083\n"
	if err := os.WriteFile(file, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestEveryVerbHelp walks the command tree: every verb answers --help, -h
// and `help VERB` with its usage on stdout and exit 0.
func TestEveryVerbHelp(t *testing.T) {
	root := newRoot(&cliEnv{stdin: strings.NewReader(""), stdout: new(bytes.Buffer), stderr: new(bytes.Buffer)})
	var paths [][]string
	walk(root, func(c *cobra.Command) {
		paths = append(paths, strings.Fields(strings.TrimPrefix(c.CommandPath(), "fleetctl")))
	})
	if len(paths) < 14 {
		t.Fatalf("only %d commands in the tree: %v", len(paths), paths)
	}
	for _, p := range paths {
		for _, args := range [][]string{append(slices.Clone(p), "--help"), append(slices.Clone(p), "-h"), append([]string{"help"}, p...)} {
			r := runCLI(t, args...)
			if r.code != exitOK || !strings.Contains(r.stdout, "Usage:") || !strings.Contains(r.stdout, strings.Join(append([]string{"fleetctl"}, p...), " ")) {
				t.Errorf("fleetctl %s: exit %d, stdout %q, stderr %q", strings.Join(args, " "), r.code, r.stdout, r.stderr)
			}
		}
	}
}

func TestUnknownVerbsAndFlagsSuggest(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"plna"}, `unknown command "plna" for "fleetctl"; did you mean 'plan'?`},
		{[]string{"db", "shwo", "acme"}, `unknown command "shwo" for "fleetctl db"; did you mean 'show'?`},
		{[]string{"oauth", "url"}, `did you mean 'urls'?`},
		{[]string{"help", "aply"}, `did you mean 'apply'?`},
		{[]string{"plan", "--jsn"}, `unknown flag: --jsn; did you mean '--json'?`},
		{[]string{"plan", "--detailed"}, `did you mean '--detailed-exitcode'?`},
		{[]string{"plan", "-adopt"}, `did you mean '--adopt'?`}, // the pre-cobra spelling
		{[]string{"validate", "--jsno=true"}, `did you mean '--json'?`},
		{[]string{"apply", "--parallelism", "many"}, `invalid argument "many"`},
		{[]string{"completion", "powershell"}, `unknown shell "powershell"`},
	} {
		r := runCLI(t, tc.args...)
		if r.code != exitError || !strings.Contains(r.stderr, tc.want) || !strings.Contains(r.stderr, "--help' for usage") {
			t.Errorf("fleetctl %s: exit %d, stderr %q; want exit 1 and %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.want)
		}
	}
	// Without a verb: the list of verbs on stderr, exit 1; also for a group.
	for _, args := range [][]string{{}, {"db"}, {"oauth"}} {
		if r := runCLI(t, args...); r.code != exitError || !strings.Contains(r.stderr, "Available Commands:") {
			t.Errorf("fleetctl %v: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
}

// No argument is ever silently ignored.
func TestNoArgumentIgnored(t *testing.T) {
	dir := t.TempDir()
	file := writeSpec(t, dir)
	t.Chdir(dir) // ./fleet.yaml is valid: an ignored argument would validate it instead

	r := runCLI(t, "validate", "/does/not/exist.yaml")
	if r.code != exitError || strings.Contains(r.stdout, "is valid") || !strings.Contains(r.stderr, "/does/not/exist.yaml") {
		t.Errorf("validate of a missing file: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	other := filepath.Join(t.TempDir(), "other.yaml")
	os.WriteFile(other, []byte("apiVersion: fleetctl/v1\nfleet: other\nsecretKeySeed: ${env:UNSET_SEED}\nclients: []\n"), 0o644)
	if r := runCLI(t, "validate", other); r.code != exitOK || !strings.Contains(r.stdout, other+` is valid: fleet "other"`) {
		t.Errorf("validate FILE: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, "validate", other, "-f", file); r.code != exitError || !strings.Contains(r.stderr, "two files") {
		t.Errorf("validate FILE -f OTHER: exit %d, %q", r.code, r.stderr)
	}
	for _, args := range [][]string{
		{"plan", "extra"}, {"status", "acme"}, {"watch", "now"}, {"version", "2"}, {"unlock", "acme"},
		{"apply", "a.json", "b.json"}, {"db", "show"}, {"db", "show", "acme", "beta"}, {"db", "migrate"},
		{"oauth", "urls", "acme"}, {"validate", "a.yaml", "b.yaml"}, {"completion"}, {"completion", "bash", "zsh"},
	} {
		if r := runCLI(t, args...); r.code != exitError || !strings.Contains(r.stderr, "Error: ") {
			t.Errorf("fleetctl %s: exit %d, stdout %q, stderr %q; want an error", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
	}
}

// GNU flags go anywhere on the line, before or after the arguments.
func TestFlagsAnywhere(t *testing.T) {
	dir := t.TempDir()
	file := writeSpec(t, dir)
	for _, args := range [][]string{
		{"validate", file, "--json"},
		{"validate", "--json", file},
		{"validate", "--json", "-f", file},
		{"validate", "-f", file, "--json"},
		{"validate", "--file=" + file, "--json"},
	} {
		r := runCLI(t, args...)
		var got struct {
			Valid   bool `json:"valid"`
			Clients int  `json:"clients"`
		}
		if r.code != exitOK || json.Unmarshal([]byte(r.stdout), &got) != nil || !got.Valid || got.Clients != 3 {
			t.Errorf("fleetctl %s: exit %d, stdout %q, stderr %q", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
	}
	for _, args := range [][]string{
		{"oauth", "urls", "--json", "-f", file},
		{"oauth", "-f", file, "urls", "--json"}, // a flag of the verb before the verb
	} {
		if r := runCLI(t, args...); r.code != exitOK || !strings.Contains(r.stdout, `"redirectURIs"`) {
			t.Errorf("fleetctl %s: exit %d, stdout %q, stderr %q", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
	}
	// --json of a file that cannot be read is still JSON.
	r := runCLI(t, "validate", "--json", filepath.Join(dir, "missing.yaml"))
	var got struct {
		Valid  bool `json:"valid"`
		Errors []struct {
			File, Message string
		} `json:"errors"`
	}
	if r.code != exitError || json.Unmarshal([]byte(r.stdout), &got) != nil || got.Valid || len(got.Errors) != 1 || !strings.Contains(got.Errors[0].Message, "missing.yaml") {
		t.Errorf("validate --json of a missing file: exit %d, stdout %q", r.code, r.stdout)
	}
}

// Completion runs through cobra's hidden __complete command, as the shells
// do. Client names come from fleet.yaml (-f honoured) with no Docker and no
// secret: DOCKER_HOST points nowhere and the secrets cannot be resolved.
func TestCompletion(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	dir := t.TempDir()
	file := writeSpec(t, dir)
	t.Chdir(t.TempDir()) // no ./fleet.yaml: only -f can name it

	complete := func(args ...string) []string {
		t.Helper()
		r := runCLI(t, append([]string{cobra.ShellCompRequestCmd}, args...)...)
		if r.code != exitOK {
			t.Fatalf("__complete %v: exit %d: %s", args, r.code, r.stderr)
		}
		var out []string
		for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
			if l != "" && !strings.HasPrefix(l, ":") {
				out = append(out, strings.SplitN(l, "\t", 2)[0])
			}
		}
		return out
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"db", "show", "-f", file, ""}, []string{"acme", "beta", "acme-two"}},
		{[]string{"db", "show", "--file=" + file, "ac"}, []string{"acme", "acme-two"}},
		{[]string{"db", "-f", file, "migrate", "b"}, []string{"beta"}},
		{[]string{"db", "show", "-f", file, "acme", ""}, nil}, // one client only
		{[]string{"db", "show", ""}, nil},                     // no ./fleet.yaml here
		{[]string{"plan", "-f", file, "--target", "client."}, []string{"client.acme", "client.beta", "client.acme-two"}},
		{[]string{"apply", "-f", file, "--target", "client.b"}, []string{"client.beta"}},
		{[]string{"apply", "--target", "client.acme", "--file", file, "--target=client.acme"}, []string{"client.acme", "client.acme-two"}},
		{[]string{"completion", ""}, []string{"bash", "zsh", "fish"}},
		{[]string{"pl"}, []string{"plan"}},
		{[]string{"db", ""}, []string{"migrate", "show"}},
		{[]string{"watch", "--log-level", ""}, []string{"debug", "info", "warn", "error"}},
	} {
		got := complete(tc.args...)
		if !slices.Equal(got, tc.want) {
			t.Errorf("__complete %q = %q, want %q", tc.args, got, tc.want)
		}
	}
	if got := complete("plan", "--ta"); !slices.Contains(got, "--target") {
		t.Errorf("flag names: %q", got)
	}

	for _, shell := range []string{"bash", "zsh", "fish"} {
		r := runCLI(t, "completion", shell)
		if r.code != exitOK || !strings.Contains(r.stdout, "fleetctl") || !strings.Contains(r.stdout, cobra.ShellCompRequestCmd) {
			t.Errorf("completion %s: exit %d, %d bytes, stderr %q", shell, r.code, len(r.stdout), r.stderr)
		}
	}
}
