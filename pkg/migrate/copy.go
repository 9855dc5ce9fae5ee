package migrate

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
)

// tableJob is one table to copy: the shared columns, their encoders.
type tableJob struct {
	rep     *TableReport
	src     *srcTable
	cols    []string
	kinds   []kind
	encs    []*colEncoder
	srcHash *rowHasher
	skip    map[int64]bool // rowids of quarantined orphans
	// uniques and fks of a table fleetctl creates (carried into its DDL).
	uniques [][]string
	fks     []fkDef
}

func quarantineOf(jobs []*tableJob) orphanRows {
	q := orphanRows{}
	for _, j := range jobs {
		if len(j.skip) > 0 {
			q[j.src.Name] = j.skip
		}
	}
	return q
}

// progressEvery rows between two progress callbacks.
const progressEvery = 16384

// copyTable streams the table from SQLite into PostgreSQL with COPY FROM
// STDIN (text format): one goroutine reads and encodes rows into a pipe,
// pgconn sends the pipe's bytes; memory stays at a few buffers whatever the
// table's size.
func copyTable(ctx context.Context, src *source, tx pgx.Tx, schema string, j *tableJob, done *atomic.Int64, progress func(int64)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		err := encodeRows(ctx, src, j, pw, done, progress)
		pw.CloseWithError(err) // nil: EOF for the reader
		errc <- err
	}()
	quoted := make([]string, len(j.cols))
	for i, c := range j.cols {
		quoted[i] = pgx.Identifier{c}.Sanitize()
	}
	q := fmt.Sprintf("COPY %s (%s) FROM STDIN", pgx.Identifier{schema, j.src.Name}.Sanitize(), strings.Join(quoted, ", "))
	tag, err := tx.Conn().PgConn().CopyFrom(ctx, pr, q)
	pr.CloseWithError(fmt.Errorf("copy aborted")) // unblocks the writer if COPY stopped early
	cancel()
	encErr := <-errc
	if err != nil {
		if encErr != nil && !strings.Contains(encErr.Error(), "copy aborted") {
			return fmt.Errorf("read %s: %w", j.src.Name, encErr)
		}
		return fmt.Errorf("copy %s: %w", j.src.Name, err)
	}
	if encErr != nil {
		return fmt.Errorf("read %s: %w", j.src.Name, encErr)
	}
	j.rep.Copied = tag.RowsAffected()
	return nil
}

func encodeRows(ctx context.Context, src *source, j *tableJob, w io.Writer, done *atomic.Int64, progress func(int64)) error {
	q := selectSQL(j.src.Name, j.cols)
	var rowid int64
	vals := make([]any, len(j.cols))
	ptrs := make([]any, len(j.cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if len(j.skip) > 0 {
		q = strings.Replace(q, "SELECT ", "SELECT rowid, ", 1)
		ptrs = append([]any{&rowid}, ptrs...)
	}
	rows, err := src.db.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	bw := bufio.NewWriterSize(w, 256<<10)
	var line []byte
	var n int64
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		if j.skip[rowid] && len(j.skip) > 0 {
			continue // quarantined, not copied
		}
		line = line[:0]
		for i, v := range vals {
			if i > 0 {
				line = append(line, '\t')
			}
			line = j.encs[i].appendField(line, v)
		}
		j.srcHash.add(line)
		line = append(line, '\n')
		if _, err := bw.Write(line); err != nil {
			return err
		}
		n++
		if n%progressEvery == 0 {
			done.Add(progressEvery)
			progress(n)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	done.Add(n % progressEvery)
	progress(n)
	return bw.Flush()
}

// verifyTable reads the table back with COPY TO and compares count and checksum.
func verifyTable(ctx context.Context, tx pgx.Tx, schema string, j *tableJob) error {
	quoted := make([]string, len(j.cols))
	for i, c := range j.cols {
		quoted[i] = pgx.Identifier{c}.Sanitize()
	}
	q := fmt.Sprintf("COPY (SELECT %s FROM %s) TO STDOUT", strings.Join(quoted, ", "), pgx.Identifier{schema, j.src.Name}.Sanitize())
	lw := &lineWriter{h: newRowHasher(j.kinds)}
	if _, err := tx.Conn().PgConn().CopyTo(ctx, lw, q); err != nil {
		return fmt.Errorf("verify %s: %w", j.src.Name, err)
	}
	j.rep.TargetRows = lw.h.sum.Rows
	j.rep.SourceSum = j.srcHash.sum.String()
	j.rep.TargetSum = lw.h.sum.String()
	if want := j.rep.SourceRows - j.rep.Quarantined; j.rep.TargetRows != want || j.rep.Copied != want {
		return fmt.Errorf("%w: %s: %d rows in SQLite (%d quarantined), %d copied, %d in PostgreSQL", ErrVerify, j.src.Name, j.rep.SourceRows, j.rep.Quarantined, j.rep.Copied, j.rep.TargetRows)
	}
	if j.rep.SourceSum != j.rep.TargetSum {
		return fmt.Errorf("%w: %s: checksum %s in SQLite, %s in PostgreSQL", ErrVerify, j.src.Name, j.rep.SourceSum, j.rep.TargetSum)
	}
	j.rep.Verified = true
	return nil
}

// alterations collects the encoders' counts, sorted by column then kind.
func (j *tableJob) alterations() []Alteration {
	var out []Alteration
	for i, e := range j.encs {
		for k, n := range e.alter {
			out = append(out, Alteration{Column: j.cols[i], Kind: k, Count: n})
		}
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].Column != out[b].Column {
			return out[a].Column < out[b].Column
		}
		return out[a].Kind < out[b].Kind
	})
	return out
}
