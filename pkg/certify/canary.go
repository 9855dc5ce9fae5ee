package certify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/quantabase/fleetctl/pkg/replicate"
)

// The conflict and cache drills run through the deployed nodes, on the
// certification canary (pkg/replicate's canary.go): certify writes the
// canary's source through the leader's admin API, changes its target rows
// as the target's owner, asks for passes (POST /api/v1/sync) and reads the
// outcome — the target's rows, the conflicts the API lists, the manual one
// resolved through the API. The leader does all the replicating.

// drillWait bounds each wait for the leader's passes.
const drillWait = time.Minute

// drill is one run of the canary drills against the leader.
type drill struct {
	t      Target
	leader Node
	probe  *replicate.CanaryProbe
}

type strategyOutcome struct {
	want, outcome string // the row the target must keep; the conflict's recorded outcome
}

var strategyWants = map[replicate.Strategy]strategyOutcome{
	replicate.SourceWins: {"source", "source"},
	replicate.TargetWins: {"target", "target"},
	replicate.NewestWins: {"source", "source"}, // the source's 300 is newer than the target's 200
	replicate.OldestWins: {"target", "target"},
	replicate.Manual:     {"target", "manual"},
}

// canaryChecks runs the conflict drill (one check per strategy) and the
// cache-expiry drill on the canary.
func canaryChecks(ctx context.Context, t Target) (conflicts []Check, cache Check) {
	start := time.Now()
	fail := func(figure string, detail ...string) ([]Check, Check) {
		var out []Check
		for _, s := range replicate.Strategies {
			out = append(out, Check{Class: "conflicts", Name: string(s), Figure: figure, Detail: detail})
		}
		return out, Check{Class: "state", Name: "cache-expiry", Figure: "not run: " + figure, Detail: detail}
	}
	leader, err := leaderNode(ctx, t)
	if err != nil {
		return fail("no leader to drill on", err.Error())
	}
	probe, err := replicate.OpenCanaryProbe(ctx, t.URL, t.MetaSchema)
	if err != nil {
		return fail("could not connect to the target", err.Error())
	}
	defer probe.Close()
	d := &drill{t: t, leader: leader, probe: probe}
	conflicts, err = d.conflicts(ctx)
	if err != nil {
		return fail("the drill on "+leader.Name+"'s canary failed", err.Error())
	}
	for i := range conflicts {
		conflicts[i].Seconds = time.Since(start).Seconds() / float64(len(conflicts))
	}
	start = time.Now()
	cache = d.cacheExpiry(ctx)
	cache.Seconds = time.Since(start).Seconds()
	return conflicts, cache
}

// leaderNode is the node whose /health says it leads, waiting up to three
// leases for one (an election may be under way).
func leaderNode(ctx context.Context, t Target) (Node, error) {
	wait := 3*t.Lease + 10*time.Second
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var seen []string
	for wctx.Err() == nil {
		seen = seen[:0]
		for _, n := range t.Nodes {
			h, err := health(wctx, n)
			if err != nil {
				seen = append(seen, n.Name+": "+err.Error())
				continue
			}
			if h.Role == replicate.Leader {
				return n, nil
			}
			seen = append(seen, n.Name+": "+string(h.Role))
		}
		sleep(wctx, poll)
	}
	return Node{}, fmt.Errorf("no node answered /health as the leader within %v (%s)", wait, strings.Join(seen, "; "))
}

func (d *drill) conflicts(ctx context.Context) ([]Check, error) {
	if err := d.op(ctx, replicate.CanaryOp{Op: "reset"}); err != nil {
		return nil, err
	}
	// r0 keeps r1 below the watermark until the source changes r1: the
	// target's change then meets a source change, as a conflict does.
	var rows []replicate.CanaryRow
	for _, s := range replicate.Strategies {
		rows = append(rows, replicate.CanaryRow{Table: replicate.CanaryTable(s), ID: "r1", V: "first", UpdatedAt: 100},
			replicate.CanaryRow{Table: replicate.CanaryTable(s), ID: "r0", V: "advance", UpdatedAt: 150})
	}
	rows = append(rows, replicate.CanaryRow{Table: replicate.CanaryShapeTable, ID: "r1", V: "first", UpdatedAt: 100})
	if err := d.op(ctx, replicate.CanaryOp{Op: "write", Rows: rows}); err != nil {
		return nil, err
	}
	if err := d.trigger(ctx); err != nil {
		return nil, err
	}
	if err := d.until(ctx, "the canary's rows in the target", func() (bool, error) {
		for _, r := range rows {
			if v, ok, err := d.probe.Value(ctx, r.Table, "v", r.ID); err != nil || !ok || v != r.V {
				return false, err
			}
		}
		return true, nil
	}); err != nil {
		return nil, err
	}
	rows = rows[:0]
	for _, s := range replicate.Strategies {
		if err := d.probe.Tamper(ctx, replicate.CanaryTable(s), "r1", "target", 200); err != nil {
			return nil, err
		}
		rows = append(rows, replicate.CanaryRow{Table: replicate.CanaryTable(s), ID: "r1", V: "source", UpdatedAt: 300})
	}
	if err := d.op(ctx, replicate.CanaryOp{Op: "write", Rows: rows}); err != nil {
		return nil, err
	}
	t0 := time.Now()
	if err := d.trigger(ctx); err != nil {
		return nil, err
	}
	found := map[string]replicate.Conflict{}
	seenAt := map[string]time.Duration{}
	if err := d.until(ctx, "a conflict of each canary table", func() (bool, error) {
		cs, err := d.conflictList(ctx)
		for _, c := range cs {
			if _, ok := found[c.Table]; !ok {
				found[c.Table], seenAt[c.Table] = c, time.Since(t0)
			}
		}
		return len(found) == len(replicate.Strategies), err
	}); err != nil {
		return nil, err
	}
	// The decisions must stand across a later pass (rows at the watermark
	// are read again every pass).
	if err := d.pass(ctx); err != nil {
		return nil, err
	}
	var out []Check
	for _, s := range replicate.Strategies {
		table, w := replicate.CanaryTable(s), strategyWants[s]
		c := found[table]
		got, _, err := d.probe.Value(ctx, table, "v", "r1")
		if err != nil {
			return nil, err
		}
		open := c.ResolvedAt == nil
		ch := Check{Class: "conflicts", Name: string(s), OK: got == w.want && c.Outcome == w.outcome && open == (s == replicate.Manual) && c.Strategy == string(s)}
		state := "decided by the strategy"
		if open {
			state = "left open"
		}
		ch.Figure = fmt.Sprintf("target keeps the %s row after a later pass (want %s); conflict #%d (term %d) recorded %q, %s, listed %.2fs after the trigger",
			got, w.want, c.ID, c.Term, c.Outcome, state, seenAt[table].Seconds())
		ch.Detail = append(ch.Detail, fmt.Sprintf("%s.r1: synced 'first' (100), changed in the target to 'target' (200), in the source to 'source' (300)", table))
		if s == replicate.Manual && ch.OK {
			d.resolveManual(ctx, c, &ch)
		}
		out = append(out, ch)
	}
	return out, nil
}

// resolveManual resolves the held conflict to the source's version through
// the API: the target then holds it, the conflict is closed, and a later
// pass changes neither.
func (d *drill) resolveManual(ctx context.Context, c replicate.Conflict, ch *Check) {
	t0 := time.Now()
	code, body, err := d.call(ctx, http.MethodPost, fmt.Sprintf("/api/v1/conflicts/%d/resolve", c.ID), map[string]string{"resolution": "source"})
	took := time.Since(t0)
	if err == nil && code != http.StatusOK {
		err = fmt.Errorf("POST /api/v1/conflicts/%d/resolve: %d %s", c.ID, code, body)
	}
	if err == nil {
		err = d.pass(ctx)
	}
	var got string
	if err == nil {
		got, _, err = d.probe.Value(ctx, c.Table, "v", "r1")
	}
	var stillOpen bool
	if err == nil {
		var cs []replicate.Conflict
		cs, err = d.conflictList(ctx)
		for _, x := range cs {
			stillOpen = stillOpen || (x.Table == c.Table && x.ResolvedAt == nil)
		}
	}
	if err != nil {
		ch.OK = false
		ch.Detail = append(ch.Detail, "resolve through the API: "+err.Error())
		return
	}
	ch.OK = got == "source" && !stillOpen
	ch.Figure = fmt.Sprintf("held the target row across a later pass with conflict #%d open; resolved through the API to %q in %.2fs (conflict closed: %v, unchanged by a later pass)",
		c.ID, got, took.Seconds(), !stillOpen)
}

// cacheExpiry adds a column to the canary's shape table in the source and
// measures when the leader's passes bring it to the target: not before its
// cached shape expires, and within the cache's TTL of when it was cached.
func (d *drill) cacheExpiry(ctx context.Context) Check {
	ch := Check{Class: "state", Name: "cache-expiry"}
	value := "probe-" + randHex()
	if err := d.op(ctx, replicate.CanaryOp{Op: "add-column", Table: replicate.CanaryShapeTable}); err != nil {
		ch.Figure, ch.Detail = "could not add a column to the canary", []string{err.Error()}
		return ch
	}
	// The operation ran between two passes: the shape the leader holds now
	// was cached before the column existed, and is due when it expires.
	t0 := time.Now()
	h, err := health(ctx, d.leader)
	if err == nil && (h.Canary == nil || h.Canary.ShapesAgeSeconds == nil) {
		err = errors.New(d.leader.Name + "'s /health shows no cached shape of the canary")
	}
	if err != nil {
		ch.Figure, ch.Detail = "could not read the leader's cache", []string{err.Error()}
		return ch
	}
	ttl, age := time.Duration(h.CacheTTLSeconds*float64(time.Second)), time.Duration(*h.Canary.ShapesAgeSeconds*float64(time.Second))
	const slack = 5 * time.Second // a pass, and the time /health took
	due := ttl - age
	if err := d.op(ctx, replicate.CanaryOp{Op: "write", Rows: []replicate.CanaryRow{
		{Table: replicate.CanaryShapeTable, ID: "r1", V: value, UpdatedAt: 1000, Added: &value}}}); err != nil {
		ch.Figure, ch.Detail = "could not write the canary", []string{err.Error()}
		return ch
	}
	var row, col time.Duration
	wctx, cancel := context.WithTimeout(ctx, due+slack+30*time.Second)
	defer cancel()
	for wctx.Err() == nil && col == 0 {
		if v, ok, err := d.probe.Value(wctx, replicate.CanaryShapeTable, "v", "r1"); err == nil && ok && v == value && row == 0 {
			row = time.Since(t0)
		}
		if v, ok, err := d.probe.Value(wctx, replicate.CanaryShapeTable, replicate.CanaryAddedColumn, "r1"); err == nil && ok && v == value {
			col = time.Since(t0)
		}
		sleep(wctx, poll)
	}
	oldest, entries := d.cacheAges(ctx)
	ch.Detail = append(ch.Detail, fmt.Sprintf("leader %s: cache TTL %v, the canary's shape cached %.2fs before the column was added", d.leader.Name, ttl, age.Seconds()))
	if col == 0 {
		ch.Figure = fmt.Sprintf("a column added to the canary's source did not reach the target within %v (TTL %v, the entry was %.2fs old)", due+slack+30*time.Second, ttl, age.Seconds())
		return ch
	}
	ch.OK = col <= due+slack && ttl <= replicate.CacheTTL && oldest <= ttl+slack
	rowNote := "with the row's new value"
	if row > 0 && row < col {
		rowNote = fmt.Sprintf("the row's new value after %.2fs, without it: the cached shape", row.Seconds())
	}
	ch.Figure = fmt.Sprintf("a column added to the canary's source reached the target after %.2fs (%s); due when the %.2fs-old cached entry expired: %.2fs (TTL %v); the oldest of the leader's %d cached entries is %.2fs",
		col.Seconds(), rowNote, age.Seconds(), due.Seconds(), ttl, entries, oldest.Seconds())
	return ch
}

// cacheAges is the oldest cached shape entry (clients and canary) in use:
// over the /health of every node that leads (a follower keeps none), and
// how many there are.
func (d *drill) cacheAges(ctx context.Context) (oldest time.Duration, entries int) {
	for _, n := range d.t.Nodes {
		h, err := health(ctx, n)
		if err != nil || h.Role != replicate.Leader {
			continue
		}
		all := h.Clients
		if h.Canary != nil {
			all = append(all, *h.Canary)
		}
		for _, c := range all {
			if c.ShapesAgeSeconds != nil {
				entries++
				oldest = max(oldest, time.Duration(*c.ShapesAgeSeconds*float64(time.Second)))
			}
		}
	}
	return oldest, entries
}

// op runs a canary operation on the leader.
func (d *drill) op(ctx context.Context, op replicate.CanaryOp) error {
	code, body, err := d.call(ctx, http.MethodPost, "/api/v1/canary", op)
	if err == nil && code == http.StatusNotFound {
		err = fmt.Errorf("%s has no certification canary (sync-node --canary; fleetctl apply deploys it): %s", d.leader.Name, body)
	} else if err == nil && code != http.StatusOK {
		err = fmt.Errorf("POST /api/v1/canary %s on %s: %d %s", op.Op, d.leader.Name, code, body)
	}
	return err
}

// trigger asks the leader for a pass now.
func (d *drill) trigger(ctx context.Context) error {
	code, body, err := d.call(ctx, http.MethodPost, "/api/v1/sync", nil)
	if err == nil && code != http.StatusAccepted {
		err = fmt.Errorf("POST /api/v1/sync on %s: %d %s", d.leader.Name, code, body)
	}
	return err
}

// pass triggers a pass and waits until a canary pass that started after
// the trigger finished ok.
func (d *drill) pass(ctx context.Context) error {
	last, _, _, _, err := d.probe.Jobs(ctx)
	if err != nil {
		return err
	}
	if err := d.trigger(ctx); err != nil {
		return err
	}
	return d.until(ctx, "a later pass of the canary", func() (bool, error) {
		_, ok, _, _, err := d.probe.Jobs(ctx)
		return ok > last, err
	})
}

// conflictList is the canary's conflicts as the leader's API lists them.
func (d *drill) conflictList(ctx context.Context) ([]replicate.Conflict, error) {
	code, body, err := d.call(ctx, http.MethodGet, "/api/v1/conflicts", nil)
	if err == nil && code != http.StatusOK {
		err = fmt.Errorf("GET /api/v1/conflicts on %s: %d %s", d.leader.Name, code, body)
	}
	var all, out []replicate.Conflict
	if err == nil {
		err = json.Unmarshal([]byte(body), &all)
	}
	for _, c := range all {
		if c.Client == replicate.CanaryClient {
			out = append(out, c)
		}
	}
	return out, err
}

// until polls cond until it holds, fails, or drillWait passes.
func (d *drill) until(ctx context.Context, what string, cond func() (bool, error)) error {
	wctx, cancel := context.WithTimeout(ctx, drillWait)
	defer cancel()
	var last error
	for wctx.Err() == nil {
		ok, err := cond()
		if ok && err == nil {
			return nil
		}
		last = err
		sleep(wctx, poll)
	}
	if last != nil {
		return fmt.Errorf("waiting for %s: %w", what, last)
	}
	return fmt.Errorf("%s not seen within %v", what, drillWait)
}

// call sends a request with the fleet's admin token to the leader.
func (d *drill) call(ctx context.Context, method, path string, body any) (int, string, error) {
	// A canary operation waits for the leader's pass under way to end.
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, "", err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, d.leader.BaseURL+path, rd)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+d.t.AdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return resp.StatusCode, strings.TrimSpace(string(b)), err
}
