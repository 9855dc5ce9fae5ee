package fleet

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// hdr is a valid fleet up to "clients:" (lines 1-4); cases append clients
// from line 5 on, so a client's "name" key is at 5:5 and its value at 5:11.
const hdr = "apiVersion: fleetctl/v1\nfleet: test\nsecretKeySeed: ${env:SEED}\nclients:\n"

// one is a valid client on lines 5-6.
const one = "  - name: a\n    port: 8081\n"

// billionLaughs expands to 10^9 strings from under 300 bytes.
const billionLaughs = `a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h,*h]
`

// TestBadFiles loads every file of testdata/fleet/bad (the top-level
// testdata: cmd/fleetctl's validate test reads the same files) and compares
// the diagnostics, positions and wording included, with NAME.want. A
// NAME.secrets file lists values the output must never show.
// go test ./pkg/fleet -run TestBadFiles -update rewrites the .want files.
func TestBadFiles(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(badDir, "*.yaml"))
	if err != nil || len(files) < 100 {
		t.Fatalf("bad cases: %d files, %v", len(files), err)
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(strings.TrimSuffix(name, ".yaml"), func(t *testing.T) {
			in, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			spec, err := Parse(in, name)
			if err == nil {
				t.Fatalf("Parse succeeded")
			}
			if spec != nil {
				t.Errorf("Parse returned a spec with an error")
			}
			var ds *Diagnostics
			if !errors.As(err, &ds) {
				t.Fatalf("error is %T, want *Diagnostics: %v", err, err)
			}
			for _, d := range *ds {
				if d.Line < 1 || d.Message == "" {
					t.Errorf("diagnostic without a line or message: %+v", d)
				}
			}
			got := err.Error() + "\n"
			base := strings.TrimSuffix(path, ".yaml")
			if secrets, err := os.ReadFile(base + ".secrets"); err == nil {
				for _, s := range strings.Fields(string(secrets)) {
					if strings.Contains(got, s) {
						t.Errorf("output echoes %q:\n%s", s, got)
					}
				}
			}
			golden(t, base+".want", got)
		})
	}
}

// badDir holds the bad fleet files shared with cmd/fleetctl.
var badDir = filepath.Join("..", "..", "testdata", "fleet", "bad")

var update = flag.Bool("update", false, "rewrite the golden files of testdata/fleet")

// golden compares got with the file at path (or rewrites it with -update).
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./pkg/fleet -update writes it)", err)
	}
	if got != string(want) {
		t.Errorf("diagnostics differ from %s:\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// A badly broken file reports a bounded number of diagnostics, the last one
// saying how many were left out.
func TestDiagnosticsCapped(t *testing.T) {
	var sb strings.Builder
	sb.WriteString(hdr)
	for i := 0; i < 600; i++ {
		sb.WriteString("  - name: A\n    port: 1\n")
	}
	_, err := Parse([]byte(sb.String()), "cap.yaml")
	var ds *Diagnostics
	if !errors.As(err, &ds) {
		t.Fatal(err)
	}
	if len(*ds) != maxDiagnostics+1 {
		t.Fatalf("got %d diagnostics, want %d", len(*ds), maxDiagnostics+1)
	}
	if last := (*ds)[maxDiagnostics]; last.Message != "too many errors: 700 more not shown" {
		t.Errorf("last diagnostic = %+v", last)
	}
}
