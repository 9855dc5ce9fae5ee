package replicate

import (
	"bufio"
	"context"
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/quantabase/fleetctl/pkg/migrate"
)

// The slow cycle's comparison (full passes) works by chunks of the primary
// key space: hash buckets of the key, not key ranges. A bucket is the first
// 16 bits of md5 over the key's text (its columns' PostgreSQL text joined by
// 0x1f), computed the same way in Go over the shared coercion and in SQL
// over the target. Buckets, unlike ranges, need no common sort order of the
// two databases (SQLite's BINARY collation, mixed type affinities vs the
// target's collation), do not shift when rows are inserted (one insert or
// delete changes exactly one bucket, whatever the key), and coarsen by a
// shift: the 65536 fine buckets are summed into 2^bits chunks of about
// chunkRows rows, so the chunk size follows the table's size without any
// stored chunk layout.
//
// What a chunk's hash covers:
//   - a table with updated_at (changes come by the watermark): its keys
//     only, xor of 64 more bits of each key's md5, plus the count. The
//     target side is a scan of the table itself: no metadata to maintain, and
//     correct whatever wrote the target.
//   - a table without updated_at: its rows, xor of a 64-bit FNV-1a of each
//     row's COPY line (the coerced values exactly as written), plus the
//     count. The target side cannot recompute that line, so the node stores
//     it per row (row_hashes.src, in the transaction that writes the row);
//     a row counts only while its target version is the one the node wrote
//     (row_hashes.hash = md5(t::text)): a target row changed, added or
//     untracked makes its chunk differ, and the conflict rules see it (an
//     untracked row is a conflict when it differs from the source, and
//     taken as the sync's own when equal: apply, recordSource).
//
// Only chunks that differ are staged (keys or rows, streamed by COPY) and
// compared row by row by the usual apply and delete steps, scoped to them.
// The source is read twice when something differs (sums, then the differing
// chunks' rows): a write in between makes the second read newer, never
// older, than the first, and the deletes are decided on the second read
// alone, so a row is deleted only when the source no longer has it.
// Memory: the 65536 sums (1 MB) and the list of differing chunks.

const (
	fineBits  = 16
	chunkRows = 1024 // target average rows per chunk
)

type chunkSum struct {
	n int64
	x uint64
}

// chunkable says whether the key's text is the same on both sides: text and
// integer key columns (bpchar pads, floats and times print differently).
func (s *shape) chunkable() bool {
	for _, c := range s.PK {
		switch s.udt(c) {
		case "text", "varchar", "int2", "int4", "int8":
		default:
			return false
		}
	}
	return len(s.PK) > 0
}

func (s *shape) udt(col string) string {
	for i, c := range s.Cols {
		if c == col {
			return s.UDTs[i]
		}
	}
	return ""
}

// keyMD5SQL is md5 over the key's text in SQL (see keyMD5).
func (s *shape) keyMD5SQL(alias string) string {
	parts := make([]string, len(s.PK))
	for i, c := range s.PK {
		parts[i] = alias + "." + pgx.Identifier{c}.Sanitize() + "::text"
	}
	if len(parts) == 1 {
		return "md5(" + parts[0] + ")"
	}
	return "md5(concat_ws(E'\\x1f', " + strings.Join(parts, ", ") + "))"
}

// bucketSQL is the fine bucket of a key's md5 (hex) m: its first 16 bits;
// keyXorSQL the next 64 bits, what a chunk's key sum xors.
func bucketSQL(m string) string { return "('x' || substr(" + m + ", 1, 4))::bit(16)::int" }
func keyXorSQL(m string) string { return "('x' || substr(" + m + ", 5, 16))::bit(64)::bigint" }

// chunkBits is the number of chunk bits for a table of n rows.
func chunkBits(n int64) int {
	b := 0
	for b < fineBits && n>>b > chunkRows {
		b++
	}
	return b
}

// rowCodec encodes source rows as COPY lines and keys them.
type rowCodec struct {
	cols  []string
	encs  []*migrate.Encoder
	pk    []int  // indexes of the key columns in cols
	ints  []bool // per key column: integer (canonical decimal)
	upd   int
	line  []byte
	ends  []int // end offset of each field in line
	key   []byte
	vals  []any
	ptrs  []any
	rowFn func([]byte) uint64
}

func newRowCodec(sh *shape, cols []string) *rowCodec {
	c := &rowCodec{cols: cols, upd: -1, vals: make([]any, len(cols)), ptrs: make([]any, len(cols)), ends: make([]int, len(cols))}
	for i, col := range cols {
		udt := sh.udt(col)
		c.encs = append(c.encs, migrate.NewEncoder(udt))
		c.ptrs[i] = &c.vals[i]
		if col == "updated_at" {
			c.upd = i
		}
	}
	for _, k := range sh.PK {
		for i, col := range cols {
			if col == k {
				c.pk = append(c.pk, i)
				u := sh.udt(col)
				c.ints = append(c.ints, u == "int2" || u == "int4" || u == "int8")
			}
		}
	}
	return c
}

// encode turns the scanned values into c.line (no newline).
func (c *rowCodec) encode() {
	c.line = c.line[:0]
	for i, v := range c.vals {
		if i > 0 {
			c.line = append(c.line, '\t')
		}
		c.line = c.encs[i].AppendField(c.line, v)
		c.ends[i] = len(c.line)
	}
}

func (c *rowCodec) field(i int) []byte {
	start := 0
	if i > 0 {
		start = c.ends[i-1] + 1
	}
	return c.line[start:c.ends[i]]
}

// keyMD5 is md5 over the key's text as PostgreSQL prints the stored value:
// the COPY field unescaped (text), or the integer in canonical decimal.
func (c *rowCodec) keyMD5() (bucket int, x uint64) {
	c.key = c.key[:0]
	for j, i := range c.pk {
		if j > 0 {
			c.key = append(c.key, 0x1f)
		}
		f := c.field(i)
		if c.ints[j] {
			if n, err := strconv.ParseInt(strings.TrimSpace(string(f)), 10, 64); err == nil {
				c.key = strconv.AppendInt(c.key, n, 10)
				continue
			}
		}
		c.key = append(c.key, migrate.UnescapeField(f)...)
	}
	sum := md5.Sum(c.key)
	return int(binary.BigEndian.Uint16(sum[0:2])), binary.BigEndian.Uint64(sum[2:10])
}

func lineHash(line []byte) uint64 {
	h := fnv.New64a()
	h.Write(line)
	return h.Sum64()
}

// scan reads every source row of the table (cols), calling f with the
// encoded row's fine bucket.
func (p *tablePass) scan(ctx context.Context, c *rowCodec, f func(bucket int, keyX uint64) error) error {
	rows, err := p.src.QueryContext(ctx, migrate.SelectSQL(p.sh.Table, c.cols))
	if err != nil {
		return fmt.Errorf("read %s: %w", p.sh.Table, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(c.ptrs...); err != nil {
			return fmt.Errorf("read %s: %w", p.sh.Table, err)
		}
		c.encode()
		b, x := c.keyMD5()
		if err := f(b, x); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %s: %w", p.sh.Table, err)
	}
	return nil
}

// chunked is the full pass by chunks (see the top of this file).
func (p *tablePass) chunked(ctx context.Context) (tableStats, error) {
	var st tableStats
	rowsMode := !p.sh.hasUpdatedAt()
	cols := p.sh.PK
	if rowsMode {
		cols = p.sh.Cols
	}
	if rowsMode {
		empty, err := p.emptyTarget(ctx)
		if err != nil {
			return st, err
		}
		if empty {
			return st, p.firstRows(ctx, &st)
		}
	}
	// 1. Source sums per fine bucket: read before the transaction began
	// (syncTable), else now.
	sums := p.sums
	if sums == nil {
		var err error
		if sums, err = p.sourceSums(ctx); err != nil {
			return st, err
		}
	}
	fine, total := &sums.fine, sums.total
	bits := chunkBits(total)
	shift := fineBits - bits
	src := make([]chunkSum, 1<<bits)
	for b, s := range fine {
		src[b>>shift].n += s.n
		src[b>>shift].x ^= s.x
	}
	// 2. Target sums per chunk, compared as they stream.
	tgt, err := p.targetSums(ctx, bits, rowsMode)
	if err != nil {
		return st, err
	}
	differ := make([]bool, len(src))
	var list []string
	for i, s := range src {
		if t := tgt[i]; t != s {
			differ[i] = true
			list = append(list, strconv.Itoa(i))
		}
	}
	st.Chunks, st.Differing = int64(len(src)), int64(len(list))
	if len(list) == 0 {
		return st, nil
	}
	// 3. Stage the differing chunks; scope the comparison to them (all of
	// the table when most differ: the filter would cost more than it saves).
	all := len(list)*2 > len(src)
	if !all {
		p.scope = " AND (" + bucketSQL(p.sh.keyMD5SQL("t")) + ") >> " + strconv.Itoa(shift) +
			" = ANY('{" + strings.Join(list, ",") + "}'::int[])"
	}
	defer func() { p.scope = "" }()
	keep := func(b int) bool { return all || differ[b>>shift] }
	if err := p.stageChunks(ctx, cols, rowsMode, keep, &st); err != nil {
		return st, err
	}
	if rowsMode {
		if err := p.apply(ctx, &st); err != nil {
			return st, err
		}
	}
	if err := p.deletes(ctx, &st); err != nil {
		return st, err
	}
	if rowsMode {
		return st, p.recordSource(ctx)
	}
	return st, nil
}

// sourceSums are a table's source sums per fine bucket.
type sourceSums struct {
	fine  [1 << fineBits]chunkSum
	total int64
}

// sourceSums reads every source key (or row, without updated_at). It needs
// only p.src and p.sh: the node runs it before the table's transaction
// begins, as a read of a large table outlasts the transaction's idle
// timeout (idleInTx) while PostgreSQL waits. The comparison stays correct
// with sums older than the target's: they only choose the chunks to stage.
func (p *tablePass) sourceSums(ctx context.Context) (*sourceSums, error) {
	rowsMode := !p.sh.hasUpdatedAt()
	cols := p.sh.PK
	if rowsMode {
		cols = p.sh.Cols
	}
	s := &sourceSums{}
	c := newRowCodec(p.sh, cols)
	err := p.scan(ctx, c, func(b int, kx uint64) error {
		if rowsMode {
			kx = lineHash(c.line)
		}
		s.fine[b].n++
		s.fine[b].x ^= kx
		s.total++
		return nil
	})
	return s, err
}

// targetSums are the target's chunk sums. A chunk with a row the node did
// not write as it is (rows mode) gets a count that never matches.
func (p *tablePass) targetSums(ctx context.Context, bits int, rowsMode bool) (map[int]chunkSum, error) {
	sh := p.sh
	shift := strconv.Itoa(fineBits - bits)
	q := `SELECT (` + bucketSQL("m") + `) >> ` + shift + `, count(*), coalesce(bit_xor(` + keyXorSQL("m") + `), 0), 0::bigint
		FROM (SELECT ` + sh.keyMD5SQL("t") + ` AS m FROM ` + sh.quotedName + ` t) q GROUP BY 1`
	args := []any{}
	if rowsMode {
		q = `SELECT (` + bucketSQL("m") + `) >> ` + shift + `, count(*), coalesce(bit_xor(src) FILTER (WHERE clean), 0),
			count(*) FILTER (WHERE NOT clean)
		FROM (SELECT ` + sh.keyMD5SQL("t") + ` AS m, h.src, coalesce(h.hash = md5(t::text) AND h.src IS NOT NULL, false) AS clean
			FROM ` + sh.quotedName + ` t LEFT JOIN ` + p.meta + `.row_hashes h
			ON h.client = $1 AND h.tbl = $2 AND h.pk = ` + sh.pkExpr("t") + `) q GROUP BY 1`
		args = []any{p.client, sh.Table}
	}
	rows, err := p.tx.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("chunk sums %s: %w", sh.Table, err)
	}
	defer rows.Close()
	out := map[int]chunkSum{}
	for rows.Next() {
		var c int
		var n, x, dirty int64
		if err := rows.Scan(&c, &n, &x, &dirty); err != nil {
			return nil, fmt.Errorf("chunk sums %s: %w", sh.Table, err)
		}
		if dirty > 0 {
			n = -1
		}
		out[c] = chunkSum{n: n, x: uint64(x)}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("chunk sums %s: %w", sh.Table, err)
	}
	return out, nil
}

// stageChunks streams the source rows (or keys) of the kept buckets into
// _s. In rows mode each row's line hash goes along (_src) and is set aside
// in _k, so that _s keeps exactly the table's columns for apply.
func (p *tablePass) stageChunks(ctx context.Context, cols []string, rowsMode bool, keep func(int) bool, st *tableStats) error {
	sh := p.sh
	ddl := "CREATE TEMP TABLE _s ON COMMIT DROP AS SELECT " + qcols(cols, "") + " FROM " + sh.quotedName + " WITH NO DATA"
	copyCols := qcols(cols, "")
	if rowsMode {
		ddl += "; ALTER TABLE _s ADD COLUMN _src bigint"
		copyCols += ", _src"
	}
	if _, err := p.tx.Exec(ctx, ddl); err != nil {
		return fmt.Errorf("stage %s: %w", sh.Table, err)
	}
	c := newRowCodec(sh, cols)
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		bw := bufio.NewWriterSize(pw, 64<<10)
		err := p.scan(rctx, c, func(b int, _ uint64) error {
			if !keep(b) {
				return nil
			}
			line := c.line
			if rowsMode {
				line = strconv.AppendInt(append(line, '\t'), int64(lineHash(c.line)), 10)
			}
			st.Read++
			_, err := bw.Write(append(line, '\n'))
			return err
		})
		if err == nil {
			err = bw.Flush()
		}
		pw.CloseWithError(err)
		errc <- err
	}()
	_, err := p.tx.Conn().PgConn().CopyFrom(ctx, pr, "COPY _s ("+copyCols+") FROM STDIN")
	pr.CloseWithError(io.ErrClosedPipe)
	cancel()
	rerr := <-errc
	if rerr != nil && rerr != io.ErrClosedPipe {
		return rerr
	}
	if err != nil {
		return fmt.Errorf("stage %s: %w", sh.Table, err)
	}
	st.countAlterations(c.encs) // the sums' read (sourceSums) alters the same values: not counted twice
	if rowsMode {
		if _, err := p.tx.Exec(ctx, "CREATE TEMP TABLE _k ON COMMIT DROP AS SELECT "+qcols(sh.PK, "")+", _src FROM _s; ALTER TABLE _s DROP COLUMN _src"); err != nil {
			return fmt.Errorf("stage %s: %w", sh.Table, err)
		}
		p.keyed = true
	}
	return nil
}

// recordSource stores the source line hash of every staged row the target
// now holds as the source has it (written now, or already equal), so that
// its chunk compares equal next time. Rows left alone (held, kept target
// versions: setHash stored theirs) were taken out of _s by apply.
func (p *tablePass) recordSource(ctx context.Context) error {
	sh, m := p.sh, p.meta
	_, err := p.tx.Exec(ctx, `INSERT INTO `+m+`.row_hashes AS rh (client, tbl, pk, hash, src, term, written_at)
		SELECT $1, $2, `+sh.pkExpr("t")+`, md5(t::text), k._src, $3, clock_timestamp()
		FROM _s s JOIN `+sh.quotedName+` t ON `+sh.pkMatch("s", "t")+` JOIN _k k ON `+sh.pkMatch("k", "s")+`
		WHERE `+sh.textRow("s")+` IS NOT DISTINCT FROM `+sh.textRow("t")+`
		ON CONFLICT (client, tbl, pk) DO UPDATE SET hash = EXCLUDED.hash, src = EXCLUDED.src, term = EXCLUDED.term, written_at = EXCLUDED.written_at
		WHERE rh.src IS DISTINCT FROM EXCLUDED.src OR rh.hash IS DISTINCT FROM EXCLUDED.hash`, p.client, sh.Table, p.tok.Term)
	if err != nil {
		return fmt.Errorf("source hashes %s: %w", sh.Table, err)
	}
	return nil
}

// keySet is the staged full key set deletes compare against: _k when the
// pass staged rows (apply takes held and kept rows out of _s, and those
// the source still has), else _s.
func (p *tablePass) keySet() string {
	if p.keyed {
		return "_k"
	}
	return "_s"
}
