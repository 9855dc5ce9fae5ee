package replicate

import (
	"context"
	"fmt"
	"testing"
)

// A node restarted with its id takes the lease back with the same term: its
// first pass closes the jobs it left running before the restart (their
// term is not older than the current one), and only those.
func TestJobSweepAfterRestart(t *testing.T) {
	tg := targets(t)["direct"](t)
	app := newApp(t)
	clients := []Client{{Name: "acme-corp", SQLitePath: app.path}}
	n1 := newNode(t, tg, "node-a", clients)
	app.chat(t, "c1", "one", 10)
	tok := lead(t, n1)
	if err := n1.SyncOnce(ctxT(t), tok, false); err != nil {
		t.Fatal(err)
	}
	// The process dies in the middle of a pass: its job row stays running.
	tg.query(t, fmt.Sprintf(`INSERT INTO sync_metadata.jobs (node_id, term, client, kind, status, started_at)
		VALUES ('node-a', %d, 'acme-corp', 'full', 'running', clock_timestamp())`, tok.Term))
	n1.mu.Lock()
	n1.el.Released() // crash: no release in the database
	n1.mu.Unlock()
	n2 := newNode(t, tg, "node-a", clients)
	if ev := n2.ElectOnce(context.Background()); ev != BecameLeader {
		t.Fatalf("restart: %v", ev)
	}
	tok2, _ := n2.Token()
	if tok2.Term != tok.Term {
		t.Fatalf("term %d after restart, was %d", tok2.Term, tok.Term)
	}
	if err := n2.SyncOnce(ctxT(t), tok2, false); err != nil {
		t.Fatal(err)
	}
	if got := tg.query(t, `SELECT string_agg(status, ',' ORDER BY id) FROM sync_metadata.jobs`); got != "ok,interrupted,ok" {
		t.Errorf("jobs after the restarted node's pass: %s", got)
	}
	// Later passes of the same process leave its rows alone (nothing to sweep).
	if err := n2.SyncOnce(ctxT(t), tok2, false); err != nil {
		t.Fatal(err)
	}
	if got := tg.query(t, `SELECT string_agg(status, ',' ORDER BY id) FROM sync_metadata.jobs`); got != "ok,interrupted,ok,ok" {
		t.Errorf("jobs: %s", got)
	}
}
