package main

import (
	"bytes"
	"strings"
	"testing"
)

// The interrupt rules, without a process: exit is recorded, not done.
func TestInterruptPhases(t *testing.T) {
	type outcome struct {
		exits     []int
		cancelled bool
		early     bool
	}
	run := func(setup func(i *interrupts), signals int) (outcome, string) {
		var o outcome
		var msgs bytes.Buffer
		i := newInterrupts(func() { o.cancelled = true }, &msgs, func(code int) { o.exits = append(o.exits, code) })
		setup(i)
		for n := 0; n < signals; n++ {
			i.signal()
		}
		o.early = i.stoppedEarly()
		return o, msgs.String()
	}
	idle := func(*interrupts) {}
	cleanup := func(i *interrupts) { i.enter(phaseCleanup) }
	change := func(i *interrupts) { i.enter(phaseChange) }

	// plan, status, validate, ...: the first signal ends the process.
	if o, msg := run(idle, 1); len(o.exits) != 1 || o.exits[0] != exitInterrupted || o.cancelled {
		t.Errorf("idle: %+v %q", o, msg)
	}
	// waiting for the lock or a confirmation: cancel, unwind (release the
	// lock), exit 130 without an error of its own.
	if o, msg := run(cleanup, 1); len(o.exits) != 0 || !o.cancelled || !o.early || !strings.Contains(msg, "nothing was changed") {
		t.Errorf("cleanup: %+v %q", o, msg)
	}
	if o, _ := run(cleanup, 2); len(o.exits) != 1 || o.exits[0] != exitInterrupted {
		t.Errorf("cleanup, second signal: %+v", o)
	}
	// actions under way: finish or roll back; the second signal abandons.
	if o, msg := run(change, 1); len(o.exits) != 0 || !o.cancelled || o.early || !strings.Contains(msg, "finishing (or rolling back)") {
		t.Errorf("change: %+v %q", o, msg)
	}
	if o, msg := run(change, 2); len(o.exits) != 1 || o.exits[0] != exitInterrupted || !strings.Contains(msg, "Abandoned") {
		t.Errorf("change, second signal: %+v %q", o, msg)
	}
	// the daemon logs its own shutdown.
	if o, msg := run(func(i *interrupts) { i.daemon() }, 2); msg != "" || !o.cancelled || len(o.exits) != 1 {
		t.Errorf("daemon: %+v %q", o, msg)
	}
	// in-process (tests): no interrupts at all, and no panic.
	var none *interrupts
	none.enter(phaseChange)
	none.daemon()
	if none.stoppedEarly() {
		t.Error("nil interrupts stopped early")
	}
}
