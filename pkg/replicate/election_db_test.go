package replicate

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestLeaseElectionAndFencing(t *testing.T) {
	for name, mk := range targets(t) {
		t.Run(name, func(t *testing.T) {
			tg := mk(t)
			app := newApp(t)
			clients := []Client{{Name: "acme-corp", SQLitePath: app.path}}
			a := newNode(t, tg, "node-a", clients, short)
			b := newNode(t, tg, "node-b", clients, short)
			ctx := ctxT(t)

			if ev := a.ElectOnce(ctx); ev != BecameLeader {
				t.Fatalf("a: %v", ev)
			}
			if ev := b.ElectOnce(ctx); ev != NoChange || b.Health().Leader != "node-a" {
				t.Fatalf("b: %v %+v", ev, b.Health())
			}
			app.chat(t, "c1", "one", 10)
			a.ElectOnce(ctx) // renewed right before its pass
			tokA, _ := a.Token()
			if err := a.SyncOnce(ctx, tokA, true); err != nil {
				t.Fatal(err)
			}
			// a's renew loop is suspended (it is never called again) past its
			// lease: b takes over with a higher term.
			tokB := lead(t, b)
			if tokB.Term <= tokA.Term {
				t.Fatalf("term did not grow: %d then %d", tokA.Term, tokB.Term)
			}
			// a wakes up with its old token: it writes nothing.
			app.chat(t, "c2", "two", 11)
			err := a.SyncOnce(ctx, tokA, true)
			if !errors.Is(err, ErrFenced) {
				t.Fatalf("old leader's pass: %v", err)
			}
			if n := tg.count(t, `SELECT count(*) FROM client_acme_corp.chat`); n != 1 {
				t.Errorf("old term wrote: %d rows", n)
			}
			// A write transaction that began under the lease and commits after
			// losing it is rolled back by the check at its end.
			err = fencedTx(ctx, b.db, b.meta, tokB, time.Minute, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, `INSERT INTO client_acme_corp.chat (id, user_id) VALUES ('late', 'u')`); err != nil {
					return err
				}
				lead(t, a) // b's lease runs out while it is paused here
				return nil
			})
			if !errors.Is(err, ErrFenced) {
				t.Fatalf("paused transaction: %v", err)
			}
			if n := tg.count(t, `SELECT count(*) FROM client_acme_corp.chat WHERE id = 'late'`); n != 0 {
				t.Error("a write committed after its lease ended")
			}
			tokA2, _ := a.Token()
			if tokA2.Term <= tokB.Term {
				t.Fatalf("term did not grow: %d then %d", tokB.Term, tokA2.Term)
			}
			if n := tg.count(t, fmt.Sprintf(`SELECT count(*) FROM sync_metadata.row_hashes WHERE term = %d`, tokB.Term)); n != 0 {
				t.Errorf("%d rows written by the fenced term", n)
			}
			if got := tg.query(t, `SELECT string_agg(term || ':' || holder, ',' ORDER BY term) FROM sync_metadata.terms`); got != fmt.Sprintf("%d:node-a,%d:node-b,%d:node-a", tokA.Term, tokB.Term, tokA2.Term) {
				t.Errorf("terms %s", got)
			}

			// A clean stop releases the lease: b leads at its next attempt.
			a.Close()
			if ev := b.ElectOnce(ctx); ev != BecameLeader {
				t.Fatalf("after release: %v", ev)
			}
			if got := tg.query(t, `SELECT node_id || '=' || is_leader FROM sync_metadata.v_cluster_health ORDER BY node_id`); got != "node-a=false\nnode-b=true" {
				t.Errorf("cluster health:\n%s", got)
			}
		})
	}
}

// A stable node id across restarts: the same row, the lease renewed without
// a new term.
func TestRestartKeepsIdentity(t *testing.T) {
	tg := targets(t)["direct"](t)
	app := newApp(t)
	n1 := newNode(t, tg, "node-a", []Client{{Name: "c", SQLitePath: app.path}})
	tok := lead(t, n1)
	ctx := context.Background()
	n1.mu.Lock()
	n1.el.Released() // crash: no release in the database
	n1.mu.Unlock()
	n2 := newNode(t, tg, "node-a", []Client{{Name: "c", SQLitePath: app.path}})
	if ev := n2.ElectOnce(ctx); ev != BecameLeader {
		t.Fatalf("restart: %v", ev)
	}
	if tok2, _ := n2.Token(); tok2.Term != tok.Term {
		t.Errorf("term %d after restart, was %d", tok2.Term, tok.Term)
	}
	if n := tg.count(t, `SELECT count(*) FROM sync_metadata.nodes`); n != 1 {
		t.Errorf("%d node rows", n)
	}
}

// The job history is fenced like the data: a node that lost its lease
// records no job under its old term, neither its start nor its end, and
// the next leader closes the job an old term left running.
func TestJobHistoryFenced(t *testing.T) {
	tg := targets(t)["direct"](t)
	app := newApp(t)
	clients := []Client{{Name: "acme-corp", SQLitePath: app.path}}
	a := newNode(t, tg, "node-a", clients, short)
	b := newNode(t, tg, "node-b", clients, short)
	ctx := ctxT(t)
	app.chat(t, "c1", "one", 10)
	tokA := lead(t, a)
	if err := a.SyncOnce(ctx, tokA, false); err != nil {
		t.Fatal(err)
	}
	jobsOf := func(term int64) string {
		return tg.query(t, fmt.Sprintf(`SELECT coalesce(string_agg(node_id || ':' || status, ',' ORDER BY id), '') FROM sync_metadata.jobs WHERE term = %d`, term))
	}
	if got := jobsOf(tokA.Term); got != "node-a:ok" {
		t.Fatalf("term %d jobs: %s", tokA.Term, got)
	}
	tokB := lead(t, b) // a's lease ran out
	// a wakes up with its old token: no job row of any status.
	if err := a.SyncOnce(ctx, tokA, true); !errors.Is(err, ErrFenced) {
		t.Fatalf("old leader's pass: %v", err)
	}
	if got := jobsOf(tokA.Term); got != "node-a:ok" {
		t.Errorf("the fenced node wrote job history under term %d: %s", tokA.Term, got)
	}
	// A job whose node lost the lease during the pass stays running (its
	// end is fenced too) until the next leader's pass closes it.
	tg.query(t, fmt.Sprintf(`INSERT INTO sync_metadata.jobs (node_id, term, client, kind, status, started_at)
		VALUES ('node-a', %d, 'acme-corp', 'full', 'running', clock_timestamp())`, tokA.Term))
	if err := b.SyncOnce(ctx, tokB, false); err != nil {
		t.Fatal(err)
	}
	if got := jobsOf(tokA.Term); got != "node-a:ok,node-a:interrupted" {
		t.Errorf("term %d jobs after the new leader's pass: %s", tokA.Term, got)
	}
	if got := jobsOf(tokB.Term); got != "node-b:ok" {
		t.Errorf("term %d jobs: %s", tokB.Term, got)
	}
	if n := tg.count(t, `SELECT count(*) FROM sync_metadata.v_active_sync_jobs`); n != 0 {
		t.Errorf("%d jobs still running", n)
	}
}
