package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
)

// phase is what an interrupt would cut short; a command says which one it is
// in, and the first SIGINT/SIGTERM is handled accordingly.
type phase int

const (
	// phaseIdle: nothing to finish and nothing to clean up (plan, status,
	// validate, ...): the first signal ends the process at once.
	phaseIdle phase = iota
	// phaseCleanup: nothing has changed yet, but something must be undone on
	// the way out (a held lock, a temporary copy of a database): the first
	// signal cancels, the command unwinds promptly and exits 130.
	phaseCleanup
	// phaseChange: actions are under way (apply, watch): the first signal
	// starts no new action and lets those under way finish or roll back; a
	// second one abandons them.
	phaseChange
)

// interrupts turns SIGINT/SIGTERM into an exit or a cancellation, by phase.
type interrupts struct {
	mu      sync.Mutex
	phase   phase
	quiet   bool // the watch daemon logs its own shutdown
	signals int
	early   bool // the first signal came before any change had started
	cancel  context.CancelFunc
	stderr  io.Writer
	exit    func(int)
}

func newInterrupts(cancel context.CancelFunc, stderr io.Writer, exit func(int)) *interrupts {
	return &interrupts{cancel: cancel, stderr: stderr, exit: exit}
}

// watch handles every signal sent on sig.
func (i *interrupts) watch(sig <-chan os.Signal) {
	for range sig {
		i.signal()
	}
}

// enter sets the phase the command is in (a no-op in tests, where i is nil).
func (i *interrupts) enter(p phase) {
	if i == nil {
		return
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	i.phase = p
}

// daemon marks a daemon: it is always in phaseChange and reports its
// shutdown in its own log.
func (i *interrupts) daemon() {
	if i == nil {
		return
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	i.phase, i.quiet = phaseChange, true
}

// stoppedEarly reports whether a signal stopped the command before it changed
// anything: it then exits 130 without an error of its own.
func (i *interrupts) stoppedEarly() bool {
	if i == nil {
		return false
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.early
}

func (i *interrupts) signal() {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.signals++
	say := func(msg string) {
		if !i.quiet {
			fmt.Fprintln(i.stderr, msg)
		}
	}
	switch {
	case i.signals > 1 && i.phase == phaseChange:
		say("Abandoned. Run 'fleetctl apply' again to converge; it resumes interrupted replacements safely.")
		i.exit(exitInterrupted)
	case i.signals > 1:
		say("Interrupted again: exiting now.")
		i.exit(exitInterrupted)
	case i.phase == phaseIdle:
		say("\nInterrupted.")
		i.exit(exitInterrupted)
	case i.phase == phaseCleanup:
		i.early = true
		say("\nInterrupted: stopping; nothing was changed.")
		i.cancel()
	default:
		say("\nInterrupted: no new action will start; finishing (or rolling back) the ones under way. Interrupt again to abandon them.")
		i.cancel()
	}
}
