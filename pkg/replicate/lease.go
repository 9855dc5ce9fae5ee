package replicate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrFenced: the write transaction's token is no longer the lease's (another
// node took over, or the lease expired): nothing was written.
var ErrFenced = errors.New("fenced: this node no longer holds the lease")

// leaseStore runs the election's statements. Each is one auto-committed
// statement on the database's clock: nothing survives between statements
// but the row, so a transaction pooler is fine.
type leaseStore struct {
	db     *pgxpool.Pool
	schema string // quoted
}

// acquire takes or renews the lease: the UPDATE succeeds when the lease is
// expired or already ours; a new holder increments the term (the fencing
// token). Otherwise it reports the current holder and how long it still holds.
func (s leaseStore) acquire(ctx context.Context, me string, lease time.Duration, now func() time.Time) Attempt {
	a := Attempt{Sent: now()}
	var rem float64
	err := s.db.QueryRow(ctx, `WITH u AS (
		UPDATE `+s.schema+`.lease SET
		  term = CASE WHEN holder = $1 THEN term ELSE term + 1 END,
		  acquired_at = CASE WHEN holder = $1 THEN acquired_at ELSE clock_timestamp() END,
		  holder = $1,
		  expires_at = clock_timestamp() + $2 * interval '1 millisecond',
		  renewed_at = clock_timestamp()
		WHERE id = 1 AND (expires_at < clock_timestamp() OR holder = $1)
		RETURNING term, acquired_at, expires_at),
		t AS (INSERT INTO `+s.schema+`.terms (term, holder, acquired_at)
		  SELECT term, $1, acquired_at FROM u ON CONFLICT DO NOTHING)
		SELECT true, term, $1::text, extract(epoch FROM expires_at - clock_timestamp())::float8 FROM u
		UNION ALL
		SELECT false, term, holder, extract(epoch FROM expires_at - clock_timestamp())::float8
		  FROM `+s.schema+`.lease WHERE id = 1 AND NOT EXISTS (SELECT 1 FROM u)`,
		me, lease.Milliseconds()).Scan(&a.Acquired, &a.Term, &a.Holder, &rem)
	if err != nil {
		a.Err = fmt.Errorf("lease: %w", err)
		return a
	}
	a.Remaining = time.Duration(rem * float64(time.Second))
	if a.Remaining < 0 {
		a.Remaining = 0
	}
	return a
}

// release ends our lease at once (a clean stop) so another node takes over
// without waiting for it to expire. The holder stays: the next node's
// acquire increments the term.
func (s leaseStore) release(ctx context.Context, t Token) error {
	_, err := s.db.Exec(ctx, `UPDATE `+s.schema+`.lease SET expires_at = clock_timestamp() - interval '1 millisecond'
		WHERE id = 1 AND holder = $1 AND term = $2`, t.Holder, t.Term)
	if err != nil {
		return fmt.Errorf("release lease: %w", err)
	}
	return nil
}

// checkFence is run inside a write transaction, as its last statement
// before COMMIT: it locks the lease row FOR SHARE (no acquire can change it
// until this transaction ends) and checks that it is still ours, this term,
// not expired on the database's clock at this moment. A paused leader
// waking up after its lease fails here and rolls everything back.
func checkFence(ctx context.Context, tx pgx.Tx, schema string, t Token) error {
	var ok bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+schema+`.lease
		WHERE id = 1 AND holder = $1 AND term = $2 AND expires_at > clock_timestamp() FOR SHARE)`, t.Holder, t.Term).Scan(&ok)
	if err != nil {
		return fmt.Errorf("fence check: %w", err)
	}
	if !ok {
		return fmt.Errorf("%w (term %d)", ErrFenced, t.Term)
	}
	return nil
}

// fencedTx runs fn in a transaction that commits only if the fence holds at
// its end. The transaction also ends itself (the server rolls it back) if
// the node stops talking to it for idleTimeout, so a paused node never
// keeps the lease row locked.
func fencedTx(ctx context.Context, db *pgxpool.Pool, schema string, t Token, idle time.Duration, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, fmt.Sprintf("SET LOCAL idle_in_transaction_session_timeout = %d", idle.Milliseconds())); err != nil {
			return err
		}
		if err := checkFenceNoLock(ctx, tx, schema, t); err != nil {
			return err
		}
		if err := fn(tx); err != nil {
			return err
		}
		return checkFence(ctx, tx, schema, t)
	})
}

// checkFenceNoLock fails early (before the work) when the token is stale.
func checkFenceNoLock(ctx context.Context, tx pgx.Tx, schema string, t Token) error {
	var ok bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+schema+`.lease
		WHERE id = 1 AND holder = $1 AND term = $2 AND expires_at > clock_timestamp())`, t.Holder, t.Term).Scan(&ok)
	if err != nil {
		return fmt.Errorf("fence check: %w", err)
	}
	if !ok {
		return fmt.Errorf("%w (term %d)", ErrFenced, t.Term)
	}
	return nil
}
