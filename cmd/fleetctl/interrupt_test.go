package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quantabase/fleetctl/pkg/docker"
)

// exitCode waits for cmd; a process that does not end within a minute is
// killed and the test fails (a hang, not a timing).
func exitCode(t *testing.T, cmd *exec.Cmd, what string) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return 0
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%s did not end", what)
		return -1
	}
}

// A waiting apply says at once who holds the lock and that it waits; unlock
// says the holder is alive and refuses a single --force; the first signal
// ends an apply that waits for the lock, or for its confirmation, with
// nothing changed and the lock released.
func TestLockWaitUnlockAndInterrupts(t *testing.T) {
	f := newTestFleet(t, 1)
	f.write(f.clients(), "")
	lockName := docker.LockName(f.name)

	// The first apply holds the lock while it asks for confirmation.
	stdin, keep, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer keep.Close()
	first := f.cmd(context.Background(), "apply")
	var firstOut syncBuffer
	first.Stdin, first.Stdout, first.Stderr = stdin, &firstOut, &firstOut
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	stdin.Close()
	defer first.Process.Kill()
	waitFor(t, time.Minute, func() bool { return strings.Contains(firstOut.String(), "Only 'yes' will be accepted") })
	pid := "pid " + strconv.Itoa(first.Process.Pid)

	second := f.cmd(context.Background(), "apply", "--auto-approve", "--lock-timeout", "10m")
	var secondErr syncBuffer
	second.Stdout, second.Stderr = &secondErr, &secondErr
	if err := second.Start(); err != nil {
		t.Fatal(err)
	}
	defer second.Process.Kill()
	waitFor(t, time.Minute, func() bool { return strings.Contains(secondErr.String(), "Waiting for the lock") })
	if msg := secondErr.String(); !strings.Contains(msg, pid) || !strings.Contains(msg, "alive on this machine") {
		t.Errorf("the waiting apply does not say who holds the lock:\n%s", msg)
	}

	r := f.run("unlock")
	if r.code != 1 || !strings.Contains(r.stderr, pid) || !strings.Contains(r.stderr, "alive on this machine") {
		t.Errorf("unlock: exit %d\n%s", r.code, r.all())
	}
	r = f.run("unlock", "--force")
	if r.code != 1 || !strings.Contains(r.stderr, "--force --force") || containerID(t, lockName) == "" {
		t.Errorf("unlock --force against a live holder: exit %d\n%s", r.code, r.all())
	}

	// SIGINT while waiting for the lock: ends at once, nothing changed.
	second.Process.Signal(os.Interrupt)
	if code := exitCode(t, second, "the apply waiting for the lock"); code != exitInterrupted ||
		!strings.Contains(secondErr.String(), "nothing was changed") || strings.Contains(secondErr.String(), "Error:") {
		t.Errorf("waiting apply after SIGINT: exit %d\n%s", code, secondErr.String())
	}
	// SIGTERM at the confirmation prompt: ends at once, lock released.
	first.Process.Signal(syscall.SIGTERM)
	if code := exitCode(t, first, "the apply at its prompt"); code != exitInterrupted {
		t.Errorf("prompting apply after SIGTERM: exit %d\n%s", code, firstOut.String())
	}
	if id := containerID(t, lockName); id != "" {
		t.Errorf("the lock is still held after the interrupted apply")
	}
	if names := f.containers(); len(names) != 0 {
		t.Errorf("an interrupted apply changed something: %v", names)
	}

	// A holder alive on this machine: this test process.
	cli, err := docker.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	release, err := cli.Lock(context.Background(), f.name, docker.Holder("go test"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if r := f.run("unlock", "--force"); r.code != 1 || containerID(t, lockName) == "" {
		t.Errorf("unlock --force against this live test: exit %d\n%s", r.code, r.all())
	}
	r = f.run("unlock", "--force", "--force")
	if r.code != 0 || !strings.Contains(r.stdout, "Removed the lock") || containerID(t, lockName) != "" {
		t.Errorf("unlock --force --force: exit %d\n%s", r.code, r.all())
	}
	if r := f.run("unlock"); r.code != 0 || !strings.Contains(r.stdout, "is not locked") {
		t.Errorf("unlock of a free fleet: exit %d\n%s", r.code, r.all())
	}
}

// A command that changes nothing ends on the first SIGTERM, even when it
// is stuck opening a FIFO given as fleet.yaml (or refuses the FIFO at once).
func TestValidateOfAFIFOEndsOnFirstSignal(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fleet.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(fleetctlBin(t), "validate", "-f", fifo)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait() // the exit code is read from cmd.ProcessState
		close(exited)
	}()
	// Wait until it is blocked opening the FIFO (openat, 257 on amd64, in
	// /proc/PID/task/*/syscall), or has ended on its own.
	blocked := func() bool {
		tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/task/*/syscall")
		for _, p := range tasks {
			if b, err := os.ReadFile(p); err == nil && strings.HasPrefix(string(b), "257 ") {
				return true
			}
		}
		return false
	}
	for !blocked() {
		select {
		case <-exited:
			t.Logf("validate refused the FIFO on its own (exit %d): %s", cmd.ProcessState.ExitCode(), out.String())
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		t.Fatal("validate of a FIFO did not end on the first SIGTERM")
	}
	if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
		t.Errorf("exit %d, want %d: %s", code, exitInterrupted, out.String())
	}
}
