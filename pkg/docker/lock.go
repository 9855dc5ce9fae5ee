package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"

	"github.com/quantabase/fleetctl/pkg/observe"
)

// The lock of a fleet is a container that is created and never started:
// container names are unique per engine and creation is atomic, so whoever
// creates fleetctl-lock-<fleet> holds the lock, on whatever machine it runs,
// as long as it talks to the same engine.
const (
	LockImage       = "fleetctl/lock:v1"
	LockNamePrefix  = "fleetctl-lock-"
	LabelLockHolder = "io.fleetctl.lock.holder"
	LabelLockSince  = "io.fleetctl.lock.since"
	LabelLockHost   = "io.fleetctl.lock.hostname"
	LabelLockPID    = "io.fleetctl.lock.pid"
	// LabelLockPIDStart is the holder's process start time (Linux clock
	// ticks since boot), so a recycled pid is not mistaken for the holder.
	LabelLockPIDStart = "io.fleetctl.lock.pid-start"
	// LabelLockMachine identifies the holder's kernel boot and PID namespace:
	// a pid means something only where both match (not in another container
	// that shares the hostname, not on another machine with the same name).
	LabelLockMachine = "io.fleetctl.lock.machine"
)

// LockPollInterval is how often a waiting Lock tries again.
const LockPollInterval = 200 * time.Millisecond

// ErrLocked is returned (wrapped, with the holder) when another process holds
// the fleet's lock for longer than the caller was willing to wait.
var ErrLocked = errors.New("fleet is locked")

// validFleetName is what a lock container's name can carry (the fleet name
// itself is validated by pkg/fleet, more strictly).
func validFleetName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '_' && c != '.' && c != '-') {
			return false
		}
	}
	return true
}

// LockInfo describes who holds a fleet's lock.
type LockInfo struct {
	ContainerID string
	Holder      string
	Since       time.Time
	Hostname    string
	PID         int
	pidStart    string
	machine     string
}

func (l LockInfo) String() string {
	s := l.Holder
	if s == "" {
		s = "an unknown holder"
	}
	if !l.Since.IsZero() {
		s += fmt.Sprintf(" since %s (%s ago)", l.Since.Format(time.RFC3339), time.Since(l.Since).Round(time.Second))
	}
	return s
}

// LockName is the name of fleet's lock container.
func LockName(fleet string) string { return LockNamePrefix + fleet }

// Holder describes the current process for a lock: "user@host pid N: command".
func Holder(command string) string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	return fmt.Sprintf("%s@%s pid %d: %s", name, host, os.Getpid(), command)
}

// Lock takes fleet's lock for holder, waiting up to wait for the current
// holder to release it. A lock left by a fleetctl that died on this same
// machine is removed and taken over. The returned unlock releases the lock
// (even after ctx is cancelled) and reports if someone removed it meanwhile.
func (c *Client) Lock(ctx context.Context, fleet, holder string, wait time.Duration) (func() error, error) {
	return c.LockReporting(ctx, fleet, holder, wait, nil)
}

// LockReporting is Lock that calls waiting (when not nil) as soon as it
// starts to wait for another holder, and again whenever the holder it waits
// for changes, so an operator learns at once who holds the lock.
func (c *Client) LockReporting(ctx context.Context, fleet, holder string, wait time.Duration, waiting func(LockInfo)) (func() error, error) {
	if !validFleetName(fleet) {
		return nil, fmt.Errorf("lock fleet %q: invalid fleet name", fleet)
	}
	deadline := time.Now().Add(wait)
	imported, vanished := false, 0
	reported := ""
	for {
		id, err := c.createLock(ctx, fleet, holder)
		switch {
		case err == nil:
			return c.unlocker(ctx, fleet, id), nil
		case cerrdefs.IsNotFound(err) && !imported:
			// First lock on this engine: the lock image is missing.
			if err := c.ensureLockImage(ctx); err != nil {
				return nil, fmt.Errorf("lock fleet %s: %w", fleet, err)
			}
			imported = true
			continue
		case !cerrdefs.IsConflict(err):
			return nil, fmt.Errorf("lock fleet %s: %w", fleet, err)
		}

		info, found, err := c.LockHolder(ctx, fleet)
		if err != nil {
			return nil, fmt.Errorf("lock fleet %s: %w", fleet, err)
		}
		if !found && vanished < 3 {
			vanished++ // released between our create and inspect: try again now
			continue
		}
		if found && stale(info) {
			c.log.Warn("removing stale fleet lock: its holder's process is gone",
				"fleet", fleet, "holder", info.Holder, "since", info.Since, "container", info.ContainerID)
			if err := c.RemoveContainer(ctx, info.ContainerID); err != nil {
				return nil, fmt.Errorf("lock fleet %s: remove stale lock: %w", fleet, err)
			}
			continue
		}
		if !time.Now().Before(deadline) {
			return nil, fmt.Errorf("lock fleet %s: %w by %s; if that process is gone, "+
				"`fleetctl unlock --force` removes the lock", fleet, ErrLocked, info)
		}
		if waiting != nil && found && info.ContainerID != reported {
			reported = info.ContainerID
			waiting(info)
		}
		t := time.NewTimer(min(LockPollInterval, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("lock fleet %s: waiting for %s: %w", fleet, info, ctx.Err())
		case <-t.C:
		}
	}
}

func (c *Client) createLock(ctx context.Context, fleet, holder string) (string, error) {
	labels := map[string]string{
		observe.LabelManagedBy: observe.ManagedByValue,
		observe.LabelFleet:     fleet,
		LabelLockHolder:        holder,
		LabelLockSince:         time.Now().UTC().Format(time.RFC3339),
		LabelLockPID:           strconv.Itoa(os.Getpid()),
	}
	if h, err := os.Hostname(); err == nil {
		labels[LabelLockHost] = h
	}
	if m := MachineID(); m != "" {
		labels[LabelLockMachine] = m
	}
	if st := procStart(os.Getpid()); st != "" {
		labels[LabelLockPIDStart] = st
	}
	resp, err := c.api.ContainerCreate(ctx,
		&container.Config{Image: LockImage, Cmd: []string{"/lock"}, Labels: labels},
		&container.HostConfig{NetworkMode: "none"}, nil, nil, LockName(fleet))
	if err != nil {
		return "", err
	}
	return resp.ID, nil
}

// unlocker removes exactly the container we created, by ID: if the lock was
// forced away and someone else took it, their lock has another ID.
func (c *Client) unlocker(ctx context.Context, fleet, id string) func() error {
	var once sync.Once
	var err error
	return func() error {
		once.Do(func() {
			// Release even when the caller's context was cancelled (Ctrl-C).
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			rerr := c.api.ContainerRemove(rctx, id, container.RemoveOptions{Force: true})
			switch {
			case cerrdefs.IsNotFound(rerr):
				err = fmt.Errorf("unlock fleet %s: the lock was removed by someone else "+
					"(fleetctl unlock?) while we held it", fleet)
			case rerr != nil:
				err = fmt.Errorf("unlock fleet %s: %w", fleet, rerr)
			}
		})
		return err
	}
}

// LockHolder reports who holds fleet's lock; found is false when nobody does.
func (c *Client) LockHolder(ctx context.Context, fleet string) (info LockInfo, found bool, err error) {
	ci, err := c.api.ContainerInspect(ctx, LockName(fleet))
	if cerrdefs.IsNotFound(err) {
		return LockInfo{}, false, nil
	}
	if err != nil {
		return LockInfo{}, false, fmt.Errorf("inspect lock %s: %w", LockName(fleet), err)
	}
	var labels map[string]string
	if ci.Config != nil {
		labels = ci.Config.Labels
	}
	info = LockInfo{ContainerID: ci.ID, Holder: labels[LabelLockHolder], Hostname: labels[LabelLockHost]}
	info.Since, _ = time.Parse(time.RFC3339, labels[LabelLockSince])
	info.PID, _ = strconv.Atoi(labels[LabelLockPID])
	info.machine = labels[LabelLockMachine]
	info.pidStart = labels[LabelLockPIDStart]
	if info.Holder == "" {
		info.Holder = "a container not made by fleetctl (" + ci.ID[:min(12, len(ci.ID))] + ")"
	}
	return info, true, nil
}

// RemoveLock removes the lock container info describes, by ID: if that
// holder released the lock meanwhile and another took it, the other's lock
// stays. A lock already gone is not an error.
func (c *Client) RemoveLock(ctx context.Context, info LockInfo) error {
	err := c.api.ContainerRemove(ctx, info.ContainerID, container.RemoveOptions{Force: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove lock %s: %w", info.ContainerID, err)
	}
	return nil
}

// ForceUnlock removes fleet's lock whoever holds it. No lock is not an error.
func (c *Client) ForceUnlock(ctx context.Context, fleet string) error {
	err := c.api.ContainerRemove(ctx, LockName(fleet), container.RemoveOptions{Force: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("unlock fleet %s: %w", fleet, err)
	}
	return nil
}

// Liveness is what this machine can tell about a lock holder's process.
type Liveness int

const (
	// HolderUnknown: the holder ran on another machine, in another PID
	// namespace, or left no pid (or start time) to check.
	HolderUnknown Liveness = iota
	// HolderAlive: the holder's process (same pid, same start time) runs on
	// this machine.
	HolderAlive
	// HolderGone: the holder ran on this machine and its process is gone
	// (or its pid now belongs to a process started later).
	HolderGone
)

func (l Liveness) String() string {
	switch l {
	case HolderAlive:
		return "alive on this machine"
	case HolderGone:
		return "gone: its process on this machine has exited"
	}
	return "on another machine or PID namespace: cannot be checked from here"
}

// stale reports whether info's holder was a process on this machine that is
// gone: its lock is taken over.
func stale(info LockInfo) bool { return info.Liveness() == HolderGone }

// Liveness checks the holder's process when it ran on this machine. A holder
// elsewhere is never judged from here.
func (l LockInfo) Liveness() Liveness {
	host, err := os.Hostname()
	if err != nil || l.Hostname == "" || l.Hostname != host || l.PID <= 0 {
		return HolderUnknown
	}
	if m := MachineID(); l.machine == "" || m == "" || l.machine != m {
		return HolderUnknown // the pid belongs to another kernel or PID namespace
	}
	// Signal 0 checks existence; EPERM means alive under another user.
	if errors.Is(syscall.Kill(l.PID, 0), syscall.ESRCH) {
		return HolderGone
	}
	now := procStart(l.PID)
	switch {
	case l.pidStart == "" || now == "":
		return HolderUnknown // a process has that pid; whether it is the holder cannot be told
	case now != l.pidStart:
		return HolderGone // a recycled pid: started after the holder
	}
	return HolderAlive
}

// MachineID is this process's kernel boot id and PID namespace, e.g.
// "6f1c…/pid:[4026531836]" ("" when /proc cannot tell).
func MachineID() string {
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	ns, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(boot)) + "/" + ns
}

// procStart returns the start time of pid from /proc (field 22 of stat), or
// "" when it cannot be read (not Linux, or no such process).
func procStart(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	// The command name (field 2) may hold spaces; fields restart after ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return ""
	}
	return f[19]
}

// ensureLockImage imports LockImage from an empty tar: the lock container is
// never started, so it needs no file at all, and nothing has to be pulled.
func (c *Client) ensureLockImage(ctx context.Context) error {
	var buf bytes.Buffer
	if err := tar.NewWriter(&buf).Close(); err != nil {
		return err
	}
	rc, err := c.api.ImageImport(ctx, image.ImportSource{Source: &buf, SourceName: "-"}, LockImage,
		image.ImportOptions{Message: "fleetctl lock: never started"})
	if err != nil {
		return fmt.Errorf("import image %s: %w", LockImage, err)
	}
	defer rc.Close()
	if _, err := io.Copy(io.Discard, rc); err != nil {
		return fmt.Errorf("import image %s: %w", LockImage, err)
	}
	return nil
}
