package health

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/quantabase/fleetctl/pkg/observe"
)

// Inspector reads a container's real state. InspectRuntime returns nil and
// no error when the container does not exist.
type Inspector interface {
	InspectRuntime(ctx context.Context, id string) (*observe.Runtime, error)
}

// LogTailer gives a container's last log lines (masked by the adapter).
type LogTailer interface {
	ContainerLogsTail(ctx context.Context, id string, n int) (string, error)
}

// Target is the container a gate waits for.
type Target struct {
	Name string // container name, for messages
	ID   string
	Bind string
	Port int
	// Path is the configured endpoint ("" : /ready, falling back to /health).
	Path     string
	Timeout  time.Duration
	Interval time.Duration
}

// Gate waits for a just-started container to become healthy, and fails as
// soon as the engine reports it exited or restarted, whatever its restart
// policy: a crash with restart policy unless-stopped must not hold an apply
// for the whole timeout.
type Gate struct {
	Prober Prober
	Engine Inspector
	// Logs, when set, explains a failure with the last log lines.
	Logs LogTailer
	// Mask masks what the container printed (the adapter masks too).
	Mask func(string) string
}

// LogLines is how many lines a failure quotes.
const LogLines = 20

// Wait polls the container (inspect and its endpoint, at the same time)
// until the endpoint answers healthy, the container exits or restarts, or
// the timeout passes. The first poll is made at once and the next ones
// come quickly (firstPollWait, doubling up to the interval): a container
// is usually up within a few hundred milliseconds of its start, and a gate
// that waits a whole interval after a first "connection refused" holds its
// apply for nothing. The container must have been started just before: a
// manual start resets the engine's restart count, so any restart counted
// afterwards is a crash.
func (g Gate) Wait(ctx context.Context, t Target) (Result, error) {
	if t.Timeout <= 0 {
		t.Timeout = 2 * time.Minute
	}
	if t.Interval <= 0 {
		t.Interval = 500 * time.Millisecond
	}
	deadline := time.Now().Add(t.Timeout)
	wait := min(firstPollWait, t.Interval)
	var last Result
	for {
		var (
			rt   *observe.Runtime
			err  error
			done = make(chan struct{})
		)
		go func() {
			defer close(done)
			rt, err = g.Engine.InspectRuntime(ctx, t.ID)
		}()
		pctx, cancel := context.WithTimeout(ctx, min(2*time.Second, time.Until(deadline)+100*time.Millisecond))
		probe := g.Prober.Probe(pctx, t.Bind, t.Port, t.Path)
		cancel()
		<-done
		// What the engine says wins over the probe: a container that
		// answered once but crashed, or restarted, is not healthy.
		switch {
		case err == nil && rt == nil:
			return last, g.fail(ctx, t, "container %s is gone", t.Name)
		case err == nil && rt.RestartCount > 0:
			rt = g.nextExit(ctx, t.ID, rt)
			code := "exit code unknown: it is running again"
			if !rt.Running || rt.Restarting {
				code = fmt.Sprintf("exit code %d", rt.ExitCode)
			}
			return last, g.fail(ctx, t, "container %s crashed and was restarted by the engine (%d restart(s), %s)",
				t.Name, rt.RestartCount, code)
		case err == nil && rt.Restarting:
			return last, g.fail(ctx, t, "container %s exited (code %d) and is restarting", t.Name, rt.ExitCode)
		case err == nil && !rt.Running:
			return last, g.fail(ctx, t, "container %s exited (code %d)", t.Name, rt.ExitCode)
		}
		last = probe
		if last.OK {
			return last, nil
		}
		if time.Now().After(deadline) {
			return last, g.fail(ctx, t, "health check: %s not healthy after %s (last: %s)",
				URL(g.Prober.Host, t.Bind, t.Port, last.Path), t.Timeout, last.Detail)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return last, ctx.Err()
		}
		wait = min(2*wait, t.Interval)
	}
}

// firstPollWait is the wait after the first poll of a gate; each next wait
// doubles, up to the target's interval.
const firstPollWait = 25 * time.Millisecond

// nextExit: a restarted container runs again with its exit code reset, so
// it is watched a little longer (at most crashWatch) for the next exit,
// which says how it fails.
func (g Gate) nextExit(ctx context.Context, id string, rt *observe.Runtime) *observe.Runtime {
	deadline := time.Now().Add(crashWatch)
	for rt.Running && !rt.Restarting && time.Now().Before(deadline) {
		select {
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			return rt
		}
		next, err := g.Engine.InspectRuntime(ctx, id)
		if err != nil || next == nil {
			return rt
		}
		rt = next
	}
	return rt
}

// crashWatch bounds how long a gate that saw a restart waits for the next exit.
const crashWatch = 3 * time.Second

func (g Gate) fail(ctx context.Context, t Target, format string, args ...any) *Failure {
	f := &Failure{Msg: fmt.Sprintf(format, args...)}
	if g.Logs != nil {
		if out, err := g.Logs.ContainerLogsTail(ctx, t.ID, LogLines); err == nil {
			if g.Mask != nil {
				out = g.Mask(out)
			}
			f.Logs = SplitLines(out)
		}
	}
	return f
}

// Failure is a failed health gate: what happened, notes added by whoever
// handled it (a rollback), then the container's last log lines. The log
// lines come last so no note is glued to the end of one of them.
type Failure struct {
	Msg   string
	Notes []string
	Logs  []string
}

func (f *Failure) Error() string {
	var b strings.Builder
	b.WriteString(f.Msg)
	for _, n := range f.Notes {
		b.WriteString("; ")
		b.WriteString(n)
	}
	if len(f.Logs) > 0 {
		b.WriteString("\n    last log lines:")
		for _, l := range f.Logs {
			b.WriteString("\n      ")
			b.WriteString(l)
		}
	}
	return b.String()
}

// WithNote returns a copy of f with note added before the log lines.
func (f *Failure) WithNote(note string) *Failure {
	c := *f
	c.Notes = append(append([]string(nil), f.Notes...), note)
	return &c
}

// SplitLines cuts log output into lines, dropping trailing blank ones.
func SplitLines(s string) []string {
	s = strings.TrimRight(s, "\n\r\t ")
	if s == "" {
		return nil
	}
	lines := strings.Split(s, "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], "\r")
	}
	return lines
}
