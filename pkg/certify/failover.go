package certify

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/quantabase/fleetctl/pkg/replicate"
)

// poll is how often the failover drill looks at the lease and the jobs.
const poll = 100 * time.Millisecond

// failoverCheck kills the leader's container and measures the time until
// another node holds a newer term, and until a pass of that term finished
// ok. The killed container is started again (also when the check fails);
// its name and the new term are returned for the state checks.
func failoverCheck(ctx context.Context, t Target, c Containers) (ch Check, killed string, newTerm int64) {
	ch = Check{Class: "ha", Name: "failover"}
	names := make([]string, len(t.Nodes))
	for i, n := range t.Nodes {
		names[i] = n.Name
	}
	if len(t.Nodes) < 2 {
		ch.Figure = fmt.Sprintf("%d node(s): a failover needs two", len(t.Nodes))
		return ch, "", 0
	}
	st, err := replicate.ReadStatus(ctx, t.URL, t.MetaSchema, t.Clients)
	if err != nil {
		ch.Figure, ch.Detail = "could not read the lease", []string{err.Error()}
		return ch, "", 0
	}
	if st.Leader == "" || !slices.Contains(names, st.Leader) {
		ch.Figure = fmt.Sprintf("no node of the fleet leads (lease holder %q)", st.Leader)
		return ch, "", 0
	}
	old, oldTerm := st.Leader, st.Term
	wait := 3*t.Lease + 30*time.Second
	dctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	t0 := time.Now()
	if err := c.KillContainer(ctx, old); err != nil {
		ch.Figure, ch.Detail = "could not kill the leader "+old, []string{err.Error()}
		return ch, "", 0
	}
	defer func() {
		if err := c.StartContainer(context.WithoutCancel(ctx), old); err != nil {
			ch.OK = false
			ch.Detail = append(ch.Detail, "start "+old+" again: "+err.Error())
		}
	}()
	var leader string
	var term int64
	var led, synced time.Duration
	for dctx.Err() == nil {
		if led == 0 {
			st, err := replicate.ReadStatus(dctx, t.URL, t.MetaSchema, t.Clients)
			if err == nil && st.Leader != "" && st.Leader != old && st.Term > oldTerm {
				leader, term, led = st.Leader, st.Term, time.Since(t0)
			}
		}
		if led > 0 {
			if ok, err := replicate.OKJobInTerm(dctx, t.URL, t.MetaSchema, term); err == nil && ok {
				synced = time.Since(t0)
				break
			}
		}
		sleep(dctx, poll)
	}
	ch.Detail = append(ch.Detail, fmt.Sprintf("docker kill %s (leader, term %d)", old, oldTerm))
	switch {
	case led == 0:
		ch.Figure = fmt.Sprintf("no other node led within %v of killing %s", wait, old)
	case synced == 0:
		ch.Figure = fmt.Sprintf("%s led (term %d) after %.2fs but completed no pass within %v", leader, term, led.Seconds(), wait)
	default:
		ch.OK = true
		ch.Figure = fmt.Sprintf("%s leads after %.2fs (term %d → %d) and completed a pass after %.2fs (lease %v)",
			leader, led.Seconds(), oldTerm, term, synced.Seconds(), t.Lease)
	}
	return ch, old, term
}

// watermarkCheck waits for the restarted node to answer /health and
// compares the watermarks with those read before the failover: none may be
// missing or lower (PostgreSQL holds them, not the node).
//
// The new term's passes must also not have rewritten every row: a node
// that resumes from PostgreSQL's watermarks copies only what changed.
func watermarkCheck(ctx context.Context, t Target, restarted string, term int64, before map[string]int64, berr error) Check {
	ch := Check{Class: "state", Name: "watermarks-survive-restart"}
	if berr != nil {
		ch.Figure, ch.Detail = "could not read the watermarks", []string{berr.Error()}
		return ch
	}
	if restarted == "" {
		ch.Figure = "no node was restarted (the failover drill did not run)"
		return ch
	}
	var node Node
	for _, n := range t.Nodes {
		if n.Name == restarted {
			node = n
		}
	}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var back time.Duration
	t0 := time.Now()
	for dctx.Err() == nil {
		if _, err := health(dctx, node); err == nil {
			back = time.Since(t0)
			break
		}
		sleep(dctx, poll)
	}
	if back == 0 {
		ch.Figure = restarted + " did not answer /health within 30s of its restart"
		return ch
	}
	after, err := replicate.Watermarks(ctx, t.URL, t.MetaSchema)
	if err != nil {
		ch.Figure, ch.Detail = "could not read the watermarks", []string{err.Error()}
		return ch
	}
	keys := make([]string, 0, len(before))
	for k := range before {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	lost := 0
	for _, k := range keys {
		if a, ok := after[k]; !ok || a < before[k] {
			lost++
			ch.Detail = append(ch.Detail, fmt.Sprintf("%s: %d before, %d after", k, before[k], after[k]))
		}
	}
	written, total, err := replicate.TermWrites(ctx, t.URL, t.MetaSchema, term)
	if err != nil {
		ch.Figure, ch.Detail = "could not read the jobs", []string{err.Error()}
		return ch
	}
	resynced := total > 0 && written >= total
	if resynced {
		ch.Detail = append(ch.Detail, fmt.Sprintf("term %d rewrote %d rows of %d: a full resync", term, written, total))
	}
	ch.OK = lost == 0 && len(before) > 0 && !resynced
	ch.Figure = fmt.Sprintf("%d of %d watermarks kept or advanced across the restart of %s (back after %.2fs); term %d wrote %d of %d rows",
		len(keys)-lost, len(keys), restarted, back.Seconds(), term, written, total)
	if len(before) == 0 {
		ch.Figure = "no watermark recorded yet: nothing to compare"
	}
	return ch
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
