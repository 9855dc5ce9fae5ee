package watch

import (
	"sort"
	"time"
)

// backoff tracks clients whose actions failed. After the n-th consecutive
// failure a client is left out of passes for base·2^(n-1), capped at max; a
// success (or the client converging) resets it. Like debouncer it takes the
// time as an argument and holds no timer.
type backoff struct {
	base, max time.Duration
	clients   map[string]*clientBackoff
}

type clientBackoff struct {
	failures int
	until    time.Time
}

func newBackoff(base, max time.Duration) *backoff {
	if max < base {
		max = base
	}
	return &backoff{base: base, max: max, clients: map[string]*clientBackoff{}}
}

// fail records a failure of client at now and returns how long the client is
// now left out.
func (b *backoff) fail(client string, now time.Time) time.Duration {
	c := b.clients[client]
	if c == nil {
		c = &clientBackoff{}
		b.clients[client] = c
	}
	c.failures++
	d := b.base
	for i := 1; i < c.failures && d < b.max; i++ {
		d *= 2
	}
	d = min(d, b.max)
	c.until = now.Add(d)
	return d
}

// succeed forgets client's failures.
func (b *backoff) succeed(client string) { delete(b.clients, client) }

// failures returns client's consecutive failures.
func (b *backoff) failures(client string) int {
	if c := b.clients[client]; c != nil {
		return c.failures
	}
	return 0
}

// until returns when client's backoff ends (zero when it has none).
func (b *backoff) until(client string) time.Time {
	if c := b.clients[client]; c != nil {
		return c.until
	}
	return time.Time{}
}

// excluded lists, sorted, the clients still backing off at now.
func (b *backoff) excluded(now time.Time) []string {
	var out []string
	for name, c := range b.clients {
		if now.Before(c.until) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// next is the earliest backoff expiry after now (ok false when none), so the
// loop can retry a client as soon as it is allowed to.
func (b *backoff) next(now time.Time) (t time.Time, ok bool) {
	for _, c := range b.clients {
		if c.until.After(now) && (!ok || c.until.Before(t)) {
			t, ok = c.until, true
		}
	}
	return t, ok
}
