package replicate

import (
	"errors"
	"testing"
	"time"
)

func i64(v int64) *int64 { return &v }

func TestDecide(t *testing.T) {
	older, newer := i64(100), i64(200)
	cases := []struct {
		s    Strategy
		v    Versions
		want Outcome
	}{
		{SourceWins, Versions{SourceUpdated: older, TargetUpdated: newer}, WriteSource},
		{TargetWins, Versions{SourceUpdated: newer, TargetUpdated: older}, KeepTarget},
		{Manual, Versions{}, Hold},
		{NewestWins, Versions{SourceUpdated: older, TargetUpdated: newer}, KeepTarget},
		{NewestWins, Versions{SourceUpdated: newer, TargetUpdated: older}, WriteSource},
		{NewestWins, Versions{SourceUpdated: older, TargetUpdated: older}, WriteSource},
		{NewestWins, Versions{TargetUpdated: newer}, WriteSource},
		{NewestWins, Versions{SourceDeleted: true, TargetUpdated: newer}, WriteSource},
		{OldestWins, Versions{SourceUpdated: newer, TargetUpdated: older}, KeepTarget},
		{OldestWins, Versions{SourceUpdated: older, TargetUpdated: newer}, WriteSource},
		{TargetWins, Versions{SourceDeleted: true}, KeepTarget},
		{Manual, Versions{SourceDeleted: true}, Hold},
	}
	for _, c := range cases {
		if got := Decide(c.s, c.v); got != c.want {
			t.Errorf("Decide(%s, %+v) = %s, want %s", c.s, c.v, got, c.want)
		}
	}
}

func TestParseStrategy(t *testing.T) {
	for _, s := range Strategies {
		if got, err := ParseStrategy(string(s)); err != nil || got != s {
			t.Errorf("%s: %v %v", s, got, err)
		}
	}
	if got, _ := ParseStrategy(""); got != SourceWins {
		t.Errorf("default %s", got)
	}
	if _, err := ParseStrategy("last_writer"); err == nil {
		t.Error("unknown strategy accepted")
	}
}

func TestElection(t *testing.T) {
	t0 := time.Unix(1000, 0)
	e := NewElection("a", 8*time.Second, 2*time.Second)
	if e.Role(t0) != Follower {
		t.Fatal("starts as leader")
	}
	// Another node holds the lease for 300 ms more: retry just after.
	if ev := e.Observe(Attempt{Sent: t0, Holder: "b", Term: 4, Remaining: 300 * time.Millisecond}); ev != NoChange {
		t.Errorf("event %v", ev)
	}
	if got := e.Next().Sub(t0); got != 320*time.Millisecond {
		t.Errorf("retry after %v", got)
	}
	if e.Term() != 4 || e.Holder() != "b" {
		t.Errorf("term %d holder %s", e.Term(), e.Holder())
	}
	// Held for long: look every Renew/4 (a clean release is seen at once).
	e.Observe(Attempt{Sent: t0, Holder: "b", Term: 4, Remaining: 7 * time.Second})
	if got := e.Next().Sub(t0); got != 500*time.Millisecond {
		t.Errorf("retry after %v", got)
	}
	// Acquired: leader with a token until Sent+lease.
	t1 := t0.Add(time.Second)
	if ev := e.Observe(Attempt{Sent: t1, Acquired: true, Term: 5, Remaining: 8 * time.Second}); ev != BecameLeader {
		t.Errorf("event %v", ev)
	}
	if tok, ok := e.Token(t1.Add(7 * time.Second)); !ok || tok != (Token{"a", 5}) {
		t.Errorf("token %v %v", tok, ok)
	}
	if _, ok := e.Token(t1.Add(8 * time.Second)); ok {
		t.Error("token valid after the lease's local end")
	}
	if e.Next() != t1.Add(2*time.Second) {
		t.Errorf("renew at %v", e.Next())
	}
	// Renew fails (database unreachable): still leader until the lease ends.
	t2 := t1.Add(2 * time.Second)
	if ev := e.Observe(Attempt{Sent: t2, Err: errors.New("down")}); ev != NoChange {
		t.Errorf("event %v", ev)
	}
	if e.Role(t2) != Leader || e.Role(t1.Add(8*time.Second)) != Follower {
		t.Error("leadership does not end with the local lease")
	}
	if ev := e.Observe(Attempt{Sent: t1.Add(9 * time.Second), Err: errors.New("down")}); ev != SteppedDown {
		t.Errorf("event %v", ev)
	}
	// Renewed, then another node took over (a pause longer than the lease).
	t3 := t1.Add(10 * time.Second)
	e.Observe(Attempt{Sent: t3, Acquired: true, Term: 5, Remaining: 8 * time.Second})
	if ev := e.Observe(Attempt{Sent: t3.Add(time.Second), Acquired: true, Term: 5, Remaining: 8 * time.Second}); ev != Renewed {
		t.Errorf("event %v", ev)
	}
	if ev := e.Observe(Attempt{Sent: t3.Add(20 * time.Second), Holder: "b", Term: 6, Remaining: 5 * time.Second}); ev != SteppedDown {
		t.Errorf("event %v", ev)
	}
	if _, ok := e.Token(t3.Add(20 * time.Second)); ok || e.Term() != 6 {
		t.Error("token kept after losing the lease")
	}
	// A short lease granted by the database (clock skew) shortens the local end.
	e.Observe(Attempt{Sent: t0, Acquired: true, Term: 7, Remaining: time.Second})
	if e.ValidUntil() != t0.Add(time.Second) {
		t.Errorf("valid until %v", e.ValidUntil())
	}
	e.Released()
	if e.Role(t0) != Follower {
		t.Error("leader after release")
	}
	// Defaults.
	d := NewElection("x", 0, 0)
	if d.Lease != 8*time.Second || d.Renew != 2*time.Second {
		t.Errorf("defaults %v %v", d.Lease, d.Renew)
	}
}
