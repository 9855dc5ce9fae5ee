package watch

import (
	"slices"
	"testing"
	"time"
)

func TestBackoffDoublesAndCaps(t *testing.T) {
	clk := newFakeClock()
	b := newBackoff(5*time.Second, time.Minute)
	want := []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second, time.Minute, time.Minute}
	for i, w := range want {
		if got := b.fail("bad", clk.now); got != w {
			t.Fatalf("failure %d: backoff %v, want %v", i+1, got, w)
		}
		if b.failures("bad") != i+1 {
			t.Fatalf("failures = %d, want %d", b.failures("bad"), i+1)
		}
	}
	// Reset on success.
	b.succeed("bad")
	if got := b.fail("bad", clk.now); got != 5*time.Second {
		t.Fatalf("after success: backoff %v, want the base again", got)
	}
}

func TestBackoffExcludesOnlyFailingClients(t *testing.T) {
	clk := newFakeClock()
	b := newBackoff(time.Second, 10*time.Second)
	start := clk.now
	b.fail("b", start)
	b.fail("a", start)
	b.fail("a", start) // 2s for a, 1s for b
	if got := b.excluded(start); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("excluded = %v", got)
	}
	if next, ok := b.next(start); !ok || !next.Equal(start.Add(time.Second)) {
		t.Fatalf("next expiry %v %v, want b's at +1s", next, ok)
	}
	now := clk.advance(time.Second)
	if got := b.excluded(now); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("at +1s excluded = %v, want [a]", got)
	}
	if next, ok := b.next(now); !ok || !next.Equal(start.Add(2*time.Second)) {
		t.Fatalf("next expiry %v %v, want a's at +2s", next, ok)
	}
	now = clk.advance(time.Second)
	if got := b.excluded(now); len(got) != 0 {
		t.Fatalf("at +2s excluded = %v, want none", got)
	}
	if _, ok := b.next(now); ok {
		t.Fatal("an expiry remains after every backoff ended")
	}
	if b.failures("c") != 0 || !b.until("c").IsZero() {
		t.Fatal("unknown client has a backoff")
	}
}
