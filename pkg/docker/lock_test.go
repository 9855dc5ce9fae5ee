package docker_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"

	"github.com/quantabase/fleetctl/pkg/docker"
	"github.com/quantabase/fleetctl/pkg/observe"
)

func TestLockImportsItsImage(t *testing.T) {
	e := newEnv(t)
	// Untag the lock image (containers of other fleets keep their layers) so
	// this Lock has to import it from an empty tar.
	if _, err := e.raw.ImageRemove(e.ctx, docker.LockImage, image.RemoveOptions{Force: true}); err != nil {
		t.Logf("lock image not removed (%v); it may not have existed", err)
	}
	unlock, err := e.c.Lock(e.ctx, e.fleet, docker.Holder("test"), 0)
	if err != nil {
		t.Fatal(err)
	}
	info, found, err := e.c.LockHolder(e.ctx, e.fleet)
	if err != nil || !found || info.Holder != docker.Holder("test") || info.PID != os.Getpid() {
		t.Errorf("LockHolder = %+v, %v, %v", info, found, err)
	}
	if st, _ := e.c.ContainerState(e.ctx, docker.LockName(e.fleet)); st != "created" {
		t.Errorf("lock container state %q, want created (never started)", st)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if err := unlock(); err != nil {
		t.Errorf("second unlock: %v", err)
	}
	if _, found, _ := e.c.LockHolder(e.ctx, e.fleet); found {
		t.Error("lock still held after unlock")
	}
}

func TestLockWaitsThenFailsNamingHolder(t *testing.T) {
	e := newEnv(t)
	other := newEnv(t).c // a second client, as a second process would have
	holder := docker.Holder("fleetctl apply (first)")
	unlock, err := e.c.Lock(e.ctx, e.fleet, holder, 0)
	if err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	_, err = other.Lock(e.ctx, e.fleet, docker.Holder("fleetctl apply (second)"), 700*time.Millisecond)
	waited := time.Since(start)
	if !errors.Is(err, docker.ErrLocked) {
		t.Fatalf("second Lock: err = %v, want ErrLocked", err)
	}
	t.Logf("after %s: %v", waited.Round(time.Millisecond), err)
	for _, want := range []string{holder, "since ", "fleetctl unlock"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q", want)
		}
	}
	if waited < 700*time.Millisecond || waited > 10*time.Second {
		t.Errorf("waited %s for a 700ms wait", waited)
	}

	// A waiter gets the lock once the holder lets go.
	got := make(chan error, 1)
	go func() {
		u, err := other.Lock(e.ctx, e.fleet, docker.Holder("fleetctl apply (third)"), 20*time.Second)
		if err == nil {
			err = u()
		}
		got <- err
	}()
	time.Sleep(300 * time.Millisecond)
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Errorf("waiter: %v", err)
	}
}

func TestLockTakesOverStaleLock(t *testing.T) {
	e := newEnv(t)
	var logs bytes.Buffer
	e.c.SetLogger(slog.New(slog.NewTextHandler(&logs, nil)))
	host, _ := os.Hostname()
	dead := deadPID(t)
	here := docker.MachineID()
	warmLockImage(t, e)

	cases := []struct {
		name      string
		labels    map[string]string
		takenOver bool
	}{
		{"dead pid on this host", map[string]string{docker.LabelLockHost: host, docker.LabelLockMachine: here, docker.LabelLockPID: strconv.Itoa(dead)}, true},
		{"recycled pid on this host", map[string]string{docker.LabelLockHost: host, docker.LabelLockMachine: here,
			docker.LabelLockPID: strconv.Itoa(os.Getpid()), docker.LabelLockPIDStart: "1"}, true},
		{"live pid on this host", map[string]string{docker.LabelLockHost: host, docker.LabelLockMachine: here, docker.LabelLockPID: strconv.Itoa(os.Getpid())}, false},
		{"dead pid on another host", map[string]string{docker.LabelLockHost: "elsewhere.example", docker.LabelLockMachine: here, docker.LabelLockPID: strconv.Itoa(dead)}, false},
		// A container with the host's name (host network) has its own pids.
		{"dead pid in another pid namespace", map[string]string{docker.LabelLockHost: host, docker.LabelLockMachine: here + "x", docker.LabelLockPID: strconv.Itoa(dead)}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			logs.Reset()
			holder := "ghost@" + tc.labels[docker.LabelLockHost] + " pid " + tc.labels[docker.LabelLockPID] + ": fleetctl apply"
			fakeLock(t, e, holder, tc.labels)
			unlock, err := e.c.Lock(e.ctx, e.fleet, docker.Holder("test"), 300*time.Millisecond)
			if !tc.takenOver {
				if !errors.Is(err, docker.ErrLocked) || !strings.Contains(err.Error(), holder) {
					t.Errorf("err = %v, want ErrLocked naming %q", err, holder)
				}
				if err := e.c.ForceUnlock(e.ctx, e.fleet); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err != nil {
				t.Fatalf("stale lock not taken over: %v", err)
			}
			if !strings.Contains(logs.String(), "stale") || !strings.Contains(logs.String(), holder) {
				t.Errorf("takeover not logged: %q", logs.String())
			}
			if err := unlock(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestLockContention(t *testing.T) {
	e := newEnv(t)
	const workers, rounds = 3, 4
	var inside, maxInside, total atomic.Int32
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		c := newEnv(t).c
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				unlock, err := c.Lock(e.ctx, e.fleet, docker.Holder("worker "+strconv.Itoa(w)), 60*time.Second)
				if err != nil {
					t.Error(err)
					return
				}
				n := inside.Add(1)
				for m := maxInside.Load(); n > m && !maxInside.CompareAndSwap(m, n); m = maxInside.Load() {
				}
				total.Add(1)
				time.Sleep(30 * time.Millisecond)
				inside.Add(-1)
				if err := unlock(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if maxInside.Load() != 1 || total.Load() != workers*rounds {
		t.Errorf("max holders at once = %d (want 1), rounds done = %d (want %d)",
			maxInside.Load(), total.Load(), workers*rounds)
	}
}

func TestForceUnlock(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(e.ctx)
	unlock, err := e.c.Lock(ctx, e.fleet, docker.Holder("test"), 0)
	if err != nil {
		t.Fatal(err)
	}
	cancel() // unlock must still work after the caller's context is gone
	if err := e.c.ForceUnlock(e.ctx, e.fleet); err != nil {
		t.Fatal(err)
	}
	if err := e.c.ForceUnlock(e.ctx, e.fleet); err != nil {
		t.Errorf("ForceUnlock without a lock: %v", err)
	}
	if err := unlock(); err == nil || !strings.Contains(err.Error(), "removed by someone else") {
		t.Errorf("unlock after a forced unlock: %v", err)
	}

	unlock, err = e.c.Lock(ctx, e.fleet, docker.Holder("test"), 0)
	if err == nil {
		_ = unlock()
		t.Error("Lock with a cancelled context succeeded")
	}
	if _, err := e.c.Lock(e.ctx, "bad name!", "x", 0); err == nil {
		t.Error("Lock accepted an invalid fleet name")
	}
}

// deadPID returns the pid of a process that has exited and been reaped.
func deadPID(t *testing.T) int {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

func warmLockImage(t *testing.T, e *env) {
	unlock, err := e.c.Lock(e.ctx, e.fleet, docker.Holder("warm-up"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
}

// fakeLock creates the fleet's lock container as another process would have.
func fakeLock(t *testing.T, e *env, holder string, extra map[string]string) {
	labels := map[string]string{
		observe.LabelManagedBy: observe.ManagedByValue,
		observe.LabelFleet:     e.fleet,
		docker.LabelLockHolder: holder,
		docker.LabelLockSince:  time.Now().Add(-time.Hour).UTC().Format(time.RFC3339),
	}
	for k, v := range extra {
		labels[k] = v
	}
	_, err := e.raw.ContainerCreate(e.ctx, &container.Config{Image: docker.LockImage, Cmd: []string{"/lock"}, Labels: labels},
		nil, nil, nil, docker.LockName(e.fleet))
	if err != nil {
		t.Fatal(err)
	}
}

// A waiter is told who holds the lock as soon as it starts to wait, and
// again when the holder changes; a waiter that gets the lock at once is not.
func TestLockReportingTellsWhoItWaitsFor(t *testing.T) {
	e := newEnv(t)
	other := newEnv(t).c
	free, err := e.c.LockReporting(e.ctx, e.fleet, docker.Holder("free"), 0, func(docker.LockInfo) {
		t.Error("told to wait for a free lock")
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := free(); err != nil {
		t.Fatal(err)
	}

	first := docker.Holder("fleetctl apply (first)")
	unlock, err := e.c.Lock(e.ctx, e.fleet, first, 0)
	if err != nil {
		t.Fatal(err)
	}
	told := make(chan docker.LockInfo, 4)
	got := make(chan error, 1)
	go func() {
		u, err := other.LockReporting(e.ctx, e.fleet, docker.Holder("second"), 60*time.Second, func(i docker.LockInfo) { told <- i })
		if err == nil {
			err = u()
		}
		got <- err
	}()
	var info docker.LockInfo
	select { // before the holder lets go: the waiter says so at once
	case info = <-told:
	case err := <-got:
		t.Fatalf("waiter returned without waiting: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("the waiter never said whom it waits for")
	}
	if info.Holder != first || info.Liveness() != docker.HolderAlive {
		t.Errorf("told %+v (%v), want the first holder, alive", info, info.Liveness())
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Errorf("waiter: %v", err)
	}
	if len(told) != 0 {
		t.Errorf("told again without a new holder: %+v", <-told)
	}
}

// RemoveLock removes the lock it was shown, never a newer holder's.
func TestRemoveLockByID(t *testing.T) {
	e := newEnv(t)
	unlock, err := e.c.Lock(e.ctx, e.fleet, docker.Holder("old"), 0)
	if err != nil {
		t.Fatal(err)
	}
	old, _, err := e.c.LockHolder(e.ctx, e.fleet)
	if err != nil {
		t.Fatal(err)
	}
	_ = unlock()
	unlock, err = e.c.Lock(e.ctx, e.fleet, docker.Holder("new"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if err := e.c.RemoveLock(e.ctx, old); err != nil {
		t.Fatalf("RemoveLock of a released lock: %v", err)
	}
	if now, found, _ := e.c.LockHolder(e.ctx, e.fleet); !found || now.Holder != docker.Holder("new") {
		t.Fatalf("the newer lock was removed: %+v %v", now, found)
	}
	now, _, _ := e.c.LockHolder(e.ctx, e.fleet)
	if err := e.c.RemoveLock(e.ctx, now); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := e.c.LockHolder(e.ctx, e.fleet); found {
		t.Error("RemoveLock left the lock")
	}
}
