package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Issue 8.6 and 8.7 end to end: a secret Docker would refuse (NUL) or that
// would hang or flood fleetctl (a FIFO, 1 GiB) is refused by its reference
// before anything is created, and its value is never printed.
func TestBadSecretFilesChangeNothing(t *testing.T) {
	f := newTestFleet(t, 1)
	const value = "Nul-Distinct-Sekr1t"
	if err := os.WriteFile(filepath.Join(f.dir, "nul"), []byte(value+"\x00def\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(f.dir, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	big, err := os.Create(filepath.Join(f.dir, "big"))
	if err != nil {
		t.Fatal(err)
	}
	if err := big.Truncate(1 << 30); err != nil {
		t.Fatal(err)
	}
	big.Close()

	for _, tc := range []struct{ file, want string }{
		{"nul", "${file:./nul}: the secret contains a NUL byte"},
		{"fifo", "${file:./fifo}: cannot read secret file: " + filepath.Join(f.dir, "fifo") + ": a FIFO (named pipe), not a regular file"},
		{"big", "${file:./big}: cannot read secret file: " + filepath.Join(f.dir, "big") + ": file is too large"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			cs := f.clients()
			cs[0].extra = "    env:\n      MYSECRET: ${file:./" + tc.file + "}\n"
			f.write(cs, "")
			for _, verb := range [][]string{{"plan"}, {"apply", "--auto-approve"}} {
				r := f.run(verb...)
				if r.code != 1 || !strings.Contains(r.stderr, tc.want) {
					t.Errorf("%s: exit %d, want 1 and %q in:\n%s", verb[0], r.code, tc.want, r.all())
				}
				if strings.Contains(r.all(), value) || strings.Contains(r.all(), "def") {
					t.Errorf("%s printed the secret:\n%s", verb[0], r.all())
				}
			}
			if c, v := f.containers(), f.volumes(); len(c)+len(v) > 0 {
				t.Errorf("objects created: containers %v volumes %v", c, v)
			}
		})
	}
}

// -f naming a FIFO fails at once instead of waiting for a writer.
func TestFleetFileFIFO(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fleet.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, fleetctlBin(t), "validate", "-f", fifo).CombinedOutput()
	if ctx.Err() != nil {
		t.Fatal("validate -f FIFO hung")
	}
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), fifo+": a FIFO (named pipe), not a regular file") {
		t.Errorf("validate -f FIFO: %v\n%s", err, out)
	}
}
