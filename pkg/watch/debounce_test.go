package watch

import (
	"testing"
	"time"
)

// fakeClock is a hand-advanced clock for the pure timing helpers.
type fakeClock struct{ now time.Time }

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *fakeClock) advance(d time.Duration) time.Time { c.now = c.now.Add(d); return c.now }

func TestDebounce(t *testing.T) {
	const quiet, maxWait = 300 * time.Millisecond, 2 * time.Second
	tests := []struct {
		name   string
		adds   []time.Duration // gaps before each add
		check  time.Duration   // gap after the last add
		due    bool
		firstN int // index of the add that began the burst
	}{
		{"nothing pending", nil, time.Hour, false, 0},
		{"single add not yet quiet", []time.Duration{0}, 299 * time.Millisecond, false, 0},
		{"single add quiet", []time.Duration{0}, quiet, true, 0},
		{"burst extends the quiet period", []time.Duration{0, 200 * time.Millisecond, 200 * time.Millisecond}, 250 * time.Millisecond, false, 0},
		{"burst fires after quiet", []time.Duration{0, 200 * time.Millisecond, 200 * time.Millisecond}, quiet, true, 0},
		// Ten adds 250ms apart never leave a quiet gap; the max wait caps it.
		{"continuous writes capped by max", repeat(250*time.Millisecond, 9), 0, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			d := newDebouncer(quiet, maxWait)
			var first time.Time
			for i, gap := range tt.adds {
				d.add(clk.advance(gap))
				if i == tt.firstN {
					first = clk.now
				}
			}
			got, due := d.fire(clk.advance(tt.check))
			if due != tt.due {
				t.Fatalf("due = %v, want %v", due, tt.due)
			}
			if due && !got.Equal(first) {
				t.Fatalf("burst began %v, want %v", got, first)
			}
			if due {
				if _, again := d.fire(clk.advance(time.Hour)); again {
					t.Fatal("fired twice for one burst")
				}
			}
		})
	}
}

func TestDebounceDeadline(t *testing.T) {
	clk := newFakeClock()
	d := newDebouncer(100*time.Millisecond, 500*time.Millisecond)
	if _, ok := d.deadline(); ok {
		t.Fatal("deadline with nothing pending")
	}
	start := clk.now
	d.add(start)
	for i := 0; i < 10; i++ {
		d.add(clk.advance(90 * time.Millisecond))
	}
	dl, ok := d.deadline()
	if !ok || !dl.Equal(start.Add(500*time.Millisecond)) {
		t.Fatalf("deadline %v (ok %v), want the cap %v", dl, ok, start.Add(500*time.Millisecond))
	}
}

func repeat(gap time.Duration, n int) []time.Duration {
	out := []time.Duration{0}
	for i := 0; i < n; i++ {
		out = append(out, gap)
	}
	return out
}
