package replicate

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/quantabase/fleetctl/pkg/migrate"
)

// idleInTx is how long the server keeps a write transaction whose node went
// silent (paused, partitioned) before rolling it back: shorter than any
// lease, so a paused leader never holds the lease row or its temp tables.
const idleInTx = 2 * time.Second

// syncClient runs one pass for a client: the shapes (created in the target
// when missing), then each table in its own fenced transaction, recorded as
// one job.
func (n *Node) syncClient(ctx context.Context, tok Token, c *clientState, full bool) (err error) {
	start := time.Now()
	timer := n.m.opDuration
	kind := "incremental"
	if full {
		kind = "full"
	}
	// The job history is fenced like the data: a node that lost its lease
	// records no job under its old term. The leader also closes, once per
	// term and process, the jobs that earlier terms left running (their
	// node lost the lease before it could record their end, and can no
	// longer write) and its own (a node restarted with its id takes the
	// lease back with the same term: its jobs of before the restart would
	// stay running). A node runs one pass at a time, so none of its own is
	// running here.
	var jobID int64
	n.mu.Lock()
	sweep := n.sweptTerm != tok.Term
	n.mu.Unlock()
	err = fencedTx(ctx, n.db, n.meta, tok, idleInTx, func(tx pgx.Tx) error {
		if sweep {
			if _, err := tx.Exec(ctx, `UPDATE `+n.meta+`.jobs SET status = 'interrupted', finished_at = clock_timestamp(),
				error = 'the node lost the lease or stopped before the job ended' WHERE status = 'running' AND (term < $1 OR node_id = $2)`,
				tok.Term, tok.Holder); err != nil {
				return err
			}
		}
		return tx.QueryRow(ctx, `INSERT INTO `+n.meta+`.jobs (node_id, term, client, kind, status, started_at)
			VALUES ($1, $2, $3, $4, 'running', clock_timestamp()) RETURNING id`, tok.Holder, tok.Term, c.Name, kind).Scan(&jobID)
	})
	if err != nil {
		if errors.Is(err, ErrFenced) && !c.canary {
			n.m.ops.WithLabelValues("fenced").Inc()
		}
		return fmt.Errorf("record job: %w", err)
	}
	n.mu.Lock()
	n.sweptTerm = tok.Term
	n.mu.Unlock()
	var total tableStats
	defer func() {
		status, msg := "ok", ""
		if err != nil {
			status, msg = "failed", n.masker.String(err.Error())
			if errors.Is(err, ErrFenced) {
				status = "fenced"
			}
		}
		if !c.canary { // certify's drills: a failing canary is no client's failed pass (alerts)
			n.m.ops.WithLabelValues(status).Inc()
			timer.Observe(time.Since(start).Seconds())
		}
		// The job's end is fenced too: a node fenced during the pass leaves
		// its row running, and the next leader marks it interrupted.
		jctx := context.WithoutCancel(ctx)
		jerr := fencedTx(jctx, n.db, n.meta, tok, idleInTx, func(tx pgx.Tx) error {
			_, err := tx.Exec(jctx, `UPDATE `+n.meta+`.jobs SET status = $2, finished_at = clock_timestamp(),
				rows_written = $3, rows_deleted = $4, conflicts = $5, error = nullif($6, '') WHERE id = $1`,
				jobID, status, total.Written, total.Deleted, total.Conflicts, msg)
			return err
		})
		if jerr != nil && !errors.Is(jerr, ErrFenced) {
			n.cfg.Logger.Warn("record job", "err", n.masker.String(jerr.Error()))
		}
		n.mu.Lock()
		if jerr != nil {
			// The row stays running: the next pass sweeps it, should this
			// node take the lease back with the same term.
			n.sweptTerm = 0
		}
		c.lastErr = msg
		if err == nil {
			c.lastSync = start
		}
		c.written += total.Written
		n.mu.Unlock()
	}()
	if c.db == nil {
		db, err := migrate.OpenSQLite(ctx, c.SQLitePath, n.cfg.BusyTimeout)
		if err != nil {
			return fmt.Errorf("open SQLite: %w", err)
		}
		c.db = db
	}
	n.mu.Lock()
	stale := c.shapes == nil || time.Since(c.shapesAt) > n.cfg.CacheTTL
	n.mu.Unlock()
	if stale {
		err := fencedTx(ctx, n.db, n.meta, tok, idleInTx, func(tx pgx.Tx) error {
			sh, err := ensureShapes(ctx, tx, c.db, c.schema, n.meta, c.Name)
			if err == nil {
				n.mu.Lock()
				c.shapes, c.shapesAt = sh, time.Now()
				n.mu.Unlock()
			}
			return err
		})
		if err != nil {
			return err
		}
	}
	n.mu.Lock()
	shapes := c.shapes
	n.mu.Unlock()
	// Tables pass tableWorkers at a time, each in its own fenced
	// transaction: one table's PostgreSQL work (upsert, row hashes) overlaps
	// the next one's SQLite read. The first failure starts no more tables.
	var (
		wg   sync.WaitGroup
		smu  sync.Mutex
		ferr error
	)
	sem := make(chan struct{}, tableWorkers)
	for _, sh := range shapes {
		if sh.Skip != "" || (!full && !sh.hasUpdatedAt()) {
			continue
		}
		sem <- struct{}{}
		smu.Lock()
		failed := ferr != nil
		smu.Unlock()
		if failed {
			<-sem
			break
		}
		wg.Add(1)
		go func(sh *shape) {
			defer func() { <-sem; wg.Done() }()
			st, err := n.syncTable(ctx, tok, c, sh, full)
			smu.Lock()
			defer smu.Unlock()
			if err != nil {
				if ferr == nil {
					ferr = fmt.Errorf("table %s: %w", sh.Table, err)
				}
				return
			}
			total.Written += st.Written
			total.Deleted += st.Deleted
			total.Conflicts += st.Conflicts
			if c.canary { // certify's drills: not the clients' rows and conflicts
				return
			}
			n.m.rows.Add(float64(st.Written + st.Deleted))
			n.m.conflicts.Add(float64(st.Conflicts))
			n.m.chunks.Add(float64(st.Chunks))
			n.m.chunksDiffering.Add(float64(st.Differing))
			n.m.staged.Add(float64(st.Read))
			n.m.resolved.WithLabelValues(string(n.strategyFor(c, sh.Table))).Add(float64(st.Resolved))
		}(sh)
	}
	wg.Wait()
	if ferr != nil {
		n.mu.Lock()
		c.shapes = nil // re-describe next time (the app may have changed its schema)
		n.mu.Unlock()
		return ferr
	}
	return fencedTx(ctx, n.db, n.meta, tok, idleInTx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO `+n.meta+`.clients (client, last_sync_at, last_full_at)
			VALUES ($1, $2::timestamptz, CASE WHEN $3::bool THEN $2::timestamptz END) ON CONFLICT (client) DO UPDATE
			SET last_sync_at = EXCLUDED.last_sync_at, last_full_at = coalesce(EXCLUDED.last_full_at, `+n.meta+`.clients.last_full_at)`,
			c.Name, start.UTC(), full)
		return err
	})
}

// tableWorkers is how many tables of a client pass at once: two, as the
// source opens at most two connections (pkg/migrate) and the pool has four
// (one for the lease and the job rows).
const tableWorkers = 2

// syncTable is one table's pass in its own fenced transaction.
func (n *Node) syncTable(ctx context.Context, tok Token, c *clientState, sh *shape, full bool) (tableStats, error) {
	var st tableStats
	var sums *sourceSums
	if full && sh.chunkable() {
		// The source's chunk sums, read outside the transaction (chunk.go:
		// a large table's read outlasts idleInTx); not for a table whose
		// pass will make its first copy (initial.go: the same conditions,
		// with the watermark's for a table with updated_at), which needs
		// none. Should a write outside the sync come in between, chunked
		// reads them in the transaction.
		first, err := emptyTarget(ctx, n.db, n.meta, c.Name, sh, sh.hasUpdatedAt())
		if err != nil {
			return st, err
		}
		if !first {
			var err error
			if sums, err = (&tablePass{src: c.db, sh: sh}).sourceSums(ctx); err != nil {
				return st, err
			}
		}
	}
	err := fencedTx(ctx, n.db, n.meta, tok, idleInTx, func(tx pgx.Tx) error {
		p := &tablePass{tx: tx, src: c.db, meta: n.meta, client: c.Name, sh: sh, tok: tok, strategy: n.strategyFor(c, sh.Table), sums: sums}
		var err error
		if sh.hasUpdatedAt() {
			var inc tableStats
			if inc, err = p.incremental(ctx); err != nil {
				return err
			}
			st = inc
		}
		if full {
			if _, err := tx.Exec(ctx, "DROP TABLE IF EXISTS _s"); err != nil {
				return err
			}
			f, err := p.full(ctx)
			st.Written += f.Written
			st.Deleted += f.Deleted
			st.Conflicts += f.Conflicts
			st.Resolved += f.Resolved
			st.Read += f.Read
			st.Chunks, st.Differing = f.Chunks, f.Differing
			return err
		}
		return nil
	})
	return st, err
}
