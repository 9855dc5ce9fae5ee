package watch

import "time"

// debouncer coalesces a burst of triggers into one: it fires quiet after the
// last trigger, but never later than max after the first, so a file that is
// rewritten continuously still gets applied. It holds no timer and reads no
// clock: the loop passes the time in, which keeps it testable with a fake
// clock.
type debouncer struct {
	quiet, max  time.Duration
	first, last time.Time
	pending     bool
}

func newDebouncer(quiet, max time.Duration) *debouncer {
	if max < quiet {
		max = quiet
	}
	return &debouncer{quiet: quiet, max: max}
}

// add records a trigger at now.
func (d *debouncer) add(now time.Time) {
	if !d.pending {
		d.first, d.pending = now, true
	}
	d.last = now
}

// deadline is when the pending burst is due (ok false when none is pending).
func (d *debouncer) deadline() (t time.Time, ok bool) {
	if !d.pending {
		return time.Time{}, false
	}
	t = d.last.Add(d.quiet)
	if limit := d.first.Add(d.max); limit.Before(t) {
		t = limit
	}
	return t, true
}

// fire reports whether a burst is due at now and, if so, resets; first is
// when the burst began (to measure detection latency).
func (d *debouncer) fire(now time.Time) (first time.Time, due bool) {
	t, ok := d.deadline()
	if !ok || now.Before(t) {
		return time.Time{}, false
	}
	first = d.first
	d.pending = false
	return first, true
}
