//go:build syncbench

package replicate

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/quantabase/fleetctl/pkg/migrate"
)

// TestInitialSync (make bench-sync-initial, scripts/bench-sync-initial.sh):
// one node's first pass (full, as a node's first pass is) of the SQLite
// database SYNC_FIXTURE into the empty target SYNC_TARGET_URL, then a
// second full pass over the unchanged database (the slow cycle's cost when
// nothing changed). Prints one JSON line; the script runs it under
// /usr/bin/time for the peak RSS. Figures, not assertions.
func TestInitialSync(t *testing.T) {
	path, url := os.Getenv("SYNC_FIXTURE"), os.Getenv("SYNC_TARGET_URL")
	if path == "" || url == "" {
		t.Skip("SYNC_FIXTURE and SYNC_TARGET_URL are needed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	// A lease longer than the pass: the benchmark measures copying, not
	// renewing (the node's own loop renews while passes run).
	n, err := NewNode(ctx, Config{NodeID: "bench", URL: url, Clients: []Client{{Name: "bench", SQLitePath: path}},
		Lease: time.Hour, Renew: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	n.ElectOnce(ctx)
	tok, ok := n.Token()
	if !ok {
		t.Fatal("not leading")
	}
	if os.Getenv("SYNC_BENCH_STAGED") != "" {
		// For comparison, the path every later pass takes: a row hash (of
		// no row) per table makes no table look empty, so the first pass
		// stages, compares and upserts instead of copying straight in.
		src, err := migrate.OpenSQLite(ctx, path, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		err = fencedTx(ctx, n.db, n.meta, tok, idleInTx, func(tx pgx.Tx) error {
			shapes, err := ensureShapes(ctx, tx, src, ClientSchema("bench"), n.meta, "bench")
			for _, sh := range shapes {
				if err == nil {
					_, err = tx.Exec(ctx, `INSERT INTO `+n.meta+`.row_hashes (client, tbl, pk, hash, term, written_at)
						VALUES ('bench', $1, 'none', '', 0, now())`, sh.Table)
				}
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	if err := n.SyncOnce(ctx, tok, true); err != nil {
		t.Fatal(err)
	}
	first := time.Since(start)
	before := counters(n)
	start = time.Now()
	if err := n.SyncOnce(ctx, tok, true); err != nil {
		t.Fatal(err)
	}
	second := time.Since(start)
	d := counters(n).minus(before)
	var rows int64
	if err := n.db.QueryRow(ctx, `SELECT coalesce(sum(rows_written), 0)::bigint FROM `+n.meta+`.jobs WHERE kind = 'full'`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(map[string]any{"seconds": first.Seconds(), "rows": rows, "noop_seconds": second.Seconds(),
		"noop_chunks": d.compared, "noop_differing": d.differing, "noop_staged": d.staged})
	fmt.Printf("INITIAL %s\n", out)
}
