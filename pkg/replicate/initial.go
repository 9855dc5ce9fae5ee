package replicate

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// The first copy of a table: nothing of it in the target yet (no rows, no
// row hashes, no open conflicts), so there is nothing to compare the source
// with and nothing to conflict with. Its rows go by COPY straight into the
// table, as the migration copies, instead of through the staging table, the
// comparison and the upsert; the row hashes are then computed from the
// table in one statement. A row that appears in the target meanwhile (a
// write outside the sync) fails the COPY on its key and the whole
// transaction: the next pass compares as usual.

// emptyTarget says whether the table has nothing of the sync's in the target.
func (p *tablePass) emptyTarget(ctx context.Context) (bool, error) {
	return emptyTarget(ctx, p.tx, p.meta, p.client, p.sh, false)
}

// rowQuerier is a transaction or the pool.
type rowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// emptyTarget says whether sh has nothing of the sync's in the target: no
// rows, no row hashes, no open conflicts; with noWatermark, and no
// watermark either (an incremental pass then makes the first copy).
func emptyTarget(ctx context.Context, q rowQuerier, meta, client string, sh *shape, noWatermark bool) (bool, error) {
	wm := ""
	if noWatermark {
		wm = ` AND NOT EXISTS (SELECT 1 FROM ` + meta + `.watermarks WHERE client = $1 AND tbl = $2)`
	}
	var empty bool
	err := q.QueryRow(ctx, `SELECT NOT EXISTS (SELECT 1 FROM `+sh.quotedName+`)
		AND NOT EXISTS (SELECT 1 FROM `+meta+`.row_hashes WHERE client = $1 AND tbl = $2)
		AND NOT EXISTS (SELECT 1 FROM `+meta+`.conflicts WHERE client = $1 AND tbl = $2 AND resolved_at IS NULL)`+wm,
		client, sh.Table).Scan(&empty)
	if err != nil {
		return false, fmt.Errorf("first copy %s: %w", sh.Table, err)
	}
	return empty, nil
}

// firstCopy copies every source row into the empty table and records their
// hashes. An empty _s is left for callers that drop it after a pass.
func (p *tablePass) firstCopy(ctx context.Context, st *tableStats) error {
	sh := p.sh
	if _, err := p.tx.Exec(ctx, "CREATE TEMP TABLE _s ON COMMIT DROP AS SELECT "+qcols(sh.Cols, "")+" FROM "+sh.quotedName+" WITH NO DATA"); err != nil {
		return fmt.Errorf("first copy %s: %w", sh.Table, err)
	}
	if err := p.copyRows(ctx, sh.quotedName, sh.Cols, "", nil, st); err != nil {
		return err
	}
	// In key order: the row_hashes index then grows at its right edge
	// (PostgreSQL's fast path for ascending inserts, full pages) instead of
	// splitting pages all over it for keys in heap order.
	tag, err := p.tx.Exec(ctx, `INSERT INTO `+p.meta+`.row_hashes (client, tbl, pk, hash, term, written_at)
		SELECT $1, $2, pk, h, $3, statement_timestamp() FROM (SELECT `+sh.pkExpr("t")+` AS pk, md5(t::text) AS h
		FROM `+sh.quotedName+` t) q ORDER BY pk`,
		p.client, sh.Table, p.tok.Term)
	if err != nil {
		return fmt.Errorf("first copy %s: row hashes: %w", sh.Table, err)
	}
	st.Written += tag.RowsAffected()
	p.copied = true
	return nil
}

// firstRows is the first copy of a table without updated_at, whose rows
// need their source line hashes (chunk.go): staged with them, inserted
// whole, hashed from the table.
func (p *tablePass) firstRows(ctx context.Context, st *tableStats) error {
	sh := p.sh
	if err := p.stageChunks(ctx, sh.Cols, true, func(int) bool { return true }, st); err != nil {
		return err
	}
	if _, err := p.tx.Exec(ctx, `INSERT INTO `+sh.quotedName+` (`+qcols(sh.Cols, "")+`) SELECT `+qcols(sh.Cols, "")+` FROM _s`); err != nil {
		return fmt.Errorf("first copy %s: %w", sh.Table, err)
	}
	tag, err := p.tx.Exec(ctx, `INSERT INTO `+p.meta+`.row_hashes (client, tbl, pk, hash, src, term, written_at)
		SELECT $1, $2, `+sh.pkExpr("t")+`, md5(t::text), k._src, $3, clock_timestamp()
		FROM `+sh.quotedName+` t JOIN _k k ON `+sh.pkMatch("k", "t"),
		p.client, sh.Table, p.tok.Term)
	if err != nil {
		return fmt.Errorf("first copy %s: row hashes: %w", sh.Table, err)
	}
	st.Written += tag.RowsAffected()
	p.copied = true
	return nil
}
