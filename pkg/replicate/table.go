package replicate

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/quantabase/fleetctl/pkg/migrate"
)

// tableStats is what one table's pass did.
type tableStats struct {
	Read, Written, Deleted, Conflicts, Resolved int64
	Watermark                                   int64
	Chunks, Differing                           int64 // full pass: chunks compared, chunks that differed
	Alterations                                 map[string]int64
}

// tablePass is one table of one client in one fenced transaction.
type tablePass struct {
	tx       pgx.Tx
	src      *sql.DB
	meta     string // quoted metadata schema
	client   string
	sh       *shape
	tok      Token
	strategy Strategy
	scope    string      // full pass: SQL condition on the target row t limiting deletes to the differing chunks
	keyed    bool        // full pass in rows mode: _k holds every staged key with its source line hash
	copied   bool        // this pass made the table's first copy (initial.go): nothing to compare yet
	sums     *sourceSums // full pass: the source's chunk sums, read before the transaction
}

// incremental copies the rows whose updated_at is at or above the table's
// watermark (>=: rows written in the watermark's own tick are read again,
// harmlessly, rather than missed), then moves the watermark to the largest
// value read. The watermark is read here, from PostgreSQL, every time.
func (p *tablePass) incremental(ctx context.Context) (tableStats, error) {
	var st tableStats
	var wm int64
	var found bool
	err := p.tx.QueryRow(ctx, `SELECT watermark, true FROM `+p.meta+`.watermarks WHERE client = $1 AND tbl = $2`,
		p.client, p.sh.Table).Scan(&wm, &found)
	if err != nil && err != pgx.ErrNoRows {
		return st, fmt.Errorf("watermark: %w", err)
	}
	where, args := "", []any(nil)
	if found {
		where, args = " WHERE "+migrate.SQLiteIdent("updated_at")+" >= ?", []any{wm}
	}
	st.Watermark = wm
	first := false
	if !found {
		if first, err = p.emptyTarget(ctx); err != nil {
			return st, err
		}
	}
	if first {
		if err := p.firstCopy(ctx, &st); err != nil {
			return st, err
		}
	} else {
		if err := p.stage(ctx, p.sh.Cols, where, args, &st); err != nil {
			return st, err
		}
		if err := p.apply(ctx, &st); err != nil {
			return st, err
		}
	}
	if st.Watermark != wm || !found {
		_, err = p.tx.Exec(ctx, `INSERT INTO `+p.meta+`.watermarks (client, tbl, watermark, term, updated_at)
			VALUES ($1, $2, $3, $4, clock_timestamp()) ON CONFLICT (client, tbl) DO UPDATE
			SET watermark = EXCLUDED.watermark, term = EXCLUDED.term, updated_at = EXCLUDED.updated_at`,
			p.client, p.sh.Table, st.Watermark, p.tok.Term)
		if err != nil {
			return st, fmt.Errorf("watermark: %w", err)
		}
	}
	return st, nil
}

// full compares the table by chunks of its primary key space (chunk.go):
// deletes rows the source no longer has (Open WebUI hard-deletes) and, for
// a table without updated_at, copies the rows that differ. A key whose text
// is not the same on both sides is compared whole, by key: a table with
// updated_at stages only its keys.
func (p *tablePass) full(ctx context.Context) (tableStats, error) {
	var st tableStats
	if p.copied {
		return st, nil
	}
	if p.sh.chunkable() {
		return p.chunked(ctx)
	}
	cols := p.sh.PK
	if !p.sh.hasUpdatedAt() {
		cols = p.sh.Cols
	}
	if err := p.stage(ctx, cols, "", nil, &st); err != nil {
		return st, err
	}
	if !p.sh.hasUpdatedAt() {
		if err := p.apply(ctx, &st); err != nil {
			return st, err
		}
	}
	return st, p.deletes(ctx, &st)
}

// stage streams SQLite rows into the temp table _s (dropped at commit)
// with COPY, coerced by the migration's encoders.
func (p *tablePass) stage(ctx context.Context, cols []string, where string, args []any, st *tableStats) error {
	if _, err := p.tx.Exec(ctx, "CREATE TEMP TABLE _s ON COMMIT DROP AS SELECT "+qcols(cols, "")+" FROM "+p.sh.quotedName+" WITH NO DATA"); err != nil {
		return fmt.Errorf("stage %s: %w", p.sh.Table, err)
	}
	return p.copyRows(ctx, "_s", cols, where, args, st)
}

// copyRows streams SQLite rows into table (COPY FROM STDIN), coerced by
// the migration's encoders.
func (p *tablePass) copyRows(ctx context.Context, table string, cols []string, where string, args []any, st *tableStats) error {
	udt := map[string]string{}
	for i, c := range p.sh.Cols {
		udt[c] = p.sh.UDTs[i]
	}
	encs := make([]*migrate.Encoder, len(cols))
	upd := -1
	for i, c := range cols {
		encs[i] = migrate.NewEncoder(udt[c])
		if c == "updated_at" {
			upd = i
		}
	}
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		err := readRows(rctx, p.src, migrate.SelectSQL(p.sh.Table, cols)+where, args, encs, upd, pw, st)
		pw.CloseWithError(err)
		errc <- err
	}()
	_, err := p.tx.Conn().PgConn().CopyFrom(ctx, pr, "COPY "+table+" ("+qcols(cols, "")+") FROM STDIN")
	pr.CloseWithError(io.ErrClosedPipe)
	cancel()
	rerr := <-errc
	if rerr != nil && rerr != io.ErrClosedPipe {
		return fmt.Errorf("read %s: %w", p.sh.Table, rerr)
	}
	if err != nil {
		return fmt.Errorf("stage %s: %w", p.sh.Table, err)
	}
	st.countAlterations(encs)
	return nil
}

// countAlterations adds the encoders' counts of changed values (NUL
// removed, invalid UTF-8 replaced) to st.
func (st *tableStats) countAlterations(encs []*migrate.Encoder) {
	for _, e := range encs {
		for k, n := range e.Alterations() {
			if st.Alterations == nil {
				st.Alterations = map[string]int64{}
			}
			st.Alterations[k] += n
		}
	}
}

func readRows(ctx context.Context, db *sql.DB, q string, args []any, encs []*migrate.Encoder, upd int, w io.Writer, st *tableStats) error {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	bw := bufio.NewWriterSize(w, 64<<10)
	vals := make([]any, len(encs))
	ptrs := make([]any, len(encs))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var line []byte
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		line = line[:0]
		for i, v := range vals {
			if i > 0 {
				line = append(line, '\t')
			}
			line = encs[i].AppendField(line, v)
		}
		line = append(line, '\n')
		if _, err := bw.Write(line); err != nil {
			return err
		}
		st.Read++
		if upd >= 0 {
			if v, ok := asInt(vals[upd]); ok && v > st.Watermark {
				st.Watermark = v
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return bw.Flush()
}

func asInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case float64:
		return int64(x), true
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		return n, err == nil
	case []byte:
		n, err := strconv.ParseInt(strings.TrimSpace(string(x)), 10, 64)
		return n, err == nil
	}
	return 0, false
}
