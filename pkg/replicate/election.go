package replicate

import "time"

// Role is a node's part in the cluster.
type Role string

const (
	Follower Role = "follower"
	Leader   Role = "leader"
)

// Token is the fencing token a leader carries into every write
// transaction: the write commits only while the lease row still says this
// holder, this term, not expired (checked on the database's clock).
type Token struct {
	Holder string
	Term   int64
}

// Attempt is the outcome of one acquire-or-renew statement.
type Attempt struct {
	// Sent is the local (monotonic) time the statement was sent: the lease
	// is granted on the database's clock at some moment after it, so
	// Sent+lease is a conservative local end of the lease.
	Sent time.Time
	Err  error // the statement failed (network, server): nothing is known
	// Acquired: this node holds the lease for Term until Remaining from now
	// (database clock).
	Acquired bool
	Term     int64
	// Holder and Remaining describe the current lease when not acquired.
	Holder    string
	Remaining time.Duration
}

// Event is what an attempt changed, for metrics and logs.
type Event int

const (
	NoChange Event = iota
	BecameLeader
	Renewed
	SteppedDown // lost the lease or could not renew in time
)

// Election is the pure state machine of one node's election: it takes
// attempt outcomes and the time, and says the role, the token and when to
// try again. It does no I/O and reads no clock.
type Election struct {
	Me    string
	Lease time.Duration // default 8s
	Renew time.Duration // default 2s

	role       Role
	term       int64 // the term held (leader) or last seen
	holder     string
	validUntil time.Time // local end of the lease held
	retryAt    time.Time
}

// NewElection returns a follower with the default timings filled in.
func NewElection(me string, lease, renew time.Duration) *Election {
	if lease <= 0 {
		lease = 8 * time.Second
	}
	if renew <= 0 || renew >= lease {
		renew = lease / 4
	}
	return &Election{Me: me, Lease: lease, Renew: renew, role: Follower}
}

// Role is the role at now: a leader whose lease ran out locally is a
// follower even before an attempt says so.
func (e *Election) Role(now time.Time) Role {
	if e.role == Leader && !now.Before(e.validUntil) {
		return Follower
	}
	return e.role
}

// Token is the fencing token while leading.
func (e *Election) Token(now time.Time) (Token, bool) {
	if e.Role(now) != Leader {
		return Token{}, false
	}
	return Token{Holder: e.Me, Term: e.term}, true
}

// Term is the term held or last seen, Holder the last known holder.
func (e *Election) Term() int64           { return e.term }
func (e *Election) Holder() string        { return e.holder }
func (e *Election) ValidUntil() time.Time { return e.validUntil }

// Observe records an attempt made at a.Sent and returns what changed.
func (e *Election) Observe(a Attempt) Event {
	// Leading means leading at the moment of the attempt: a lease that ran
	// out locally was lost, whatever came next.
	was := e.Role(a.Sent)
	prevTerm := e.term
	switch {
	case a.Err != nil:
		// Nothing known: keep leading until the local end of the lease,
		// retry soon.
		e.retryAt = a.Sent.Add(min(e.Renew/2, time.Second))
		if e.role == Leader && was != Leader {
			e.role = Follower
			return SteppedDown
		}
		return NoChange
	case a.Acquired:
		e.role, e.term, e.holder = Leader, a.Term, e.Me
		e.validUntil = a.Sent.Add(min(e.Lease, a.Remaining))
		e.retryAt = a.Sent.Add(e.Renew)
		if was == Leader && a.Term == prevTerm {
			return Renewed
		}
		return BecameLeader
	default:
		stepped := e.role == Leader
		e.role, e.holder = Follower, a.Holder
		if a.Term > e.term {
			e.term = a.Term
		}
		// Try again when the holder's lease runs out (plus a little), and
		// at least every Renew/4: a holder that stopped cleanly released
		// its lease, and there is no LISTEN through a transaction pooler to
		// say so, so a follower looks often (one cheap statement).
		wait := e.Renew / 4
		if a.Remaining >= 0 && a.Remaining+20*time.Millisecond < wait {
			wait = a.Remaining + 20*time.Millisecond
		}
		e.retryAt = a.Sent.Add(wait)
		if stepped {
			return SteppedDown
		}
		return NoChange
	}
}

// Next is when the next attempt is due.
func (e *Election) Next() time.Time { return e.retryAt }

// Released records a clean release: the node no longer leads.
func (e *Election) Released() {
	e.role = Follower
	e.validUntil = time.Time{}
}
