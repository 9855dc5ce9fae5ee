package migrate

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// checksum is an order-independent digest of a table's rows: the row count
// and two 64-bit sums of each row's SHA-256. Rows are compared in their
// normalized form (the COPY text a value has in PostgreSQL), so the source
// side is computed while copying and the target side by reading the table
// back with COPY TO; equal sets of rows give equal checksums.
type checksum struct {
	Rows int64
	a, b uint64
}

func (c *checksum) addLine(line []byte) {
	h := sha256.Sum256(line)
	c.a += binary.LittleEndian.Uint64(h[0:8])
	c.b += binary.LittleEndian.Uint64(h[8:16])
	c.Rows++
}

func (c checksum) String() string { return fmt.Sprintf("%d:%016x%016x", c.Rows, c.a, c.b) }

// canonFunc normalizes one COPY text field whose PostgreSQL output form may
// differ from its input form (dates, numbers, jsonb). nil: compare as is.
type canonFunc func([]byte) []byte

func canonFor(k kind) canonFunc {
	switch k {
	case kFloat:
		return func(f []byte) []byte {
			v, err := strconv.ParseFloat(string(f), 64)
			if err != nil {
				return f
			}
			return strconv.AppendFloat(nil, v, 'g', -1, 64)
		}
	case kNumeric:
		return func(f []byte) []byte {
			r, ok := new(big.Rat).SetString(string(f))
			if !ok {
				return f
			}
			return []byte(r.RatString())
		}
	case kDate, kTimestamp, kTimestampTZ:
		return canonTime
	case kJSONB:
		return func(f []byte) []byte {
			dec := json.NewDecoder(bytes.NewReader(unescapeCopy(f)))
			dec.UseNumber()
			var v any
			if dec.Decode(&v) != nil {
				return f
			}
			b, err := json.Marshal(v)
			if err != nil {
				return f
			}
			return b
		}
	}
	return nil
}

var timeLayouts = []string{
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z07",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02",
}

func canonTime(f []byte) []byte {
	s := strings.TrimSpace(string(f))
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return []byte(t.UTC().Format("2006-01-02 15:04:05.999999999"))
		}
	}
	return f
}

// rowHasher hashes rows given as COPY text lines (no trailing newline).
type rowHasher struct {
	canon   []canonFunc // per column; nil slice when every column compares as is
	sum     checksum
	scratch []byte
}

func newRowHasher(kinds []kind) *rowHasher {
	h := &rowHasher{}
	canon := make([]canonFunc, len(kinds))
	any := false
	for i, k := range kinds {
		canon[i] = canonFor(k)
		any = any || canon[i] != nil
	}
	if any {
		h.canon = canon
	}
	return h
}

func (h *rowHasher) add(line []byte) {
	if h.canon == nil {
		h.sum.addLine(line)
		return
	}
	out := h.scratch[:0]
	for i := 0; ; i++ {
		end := bytes.IndexByte(line, '\t')
		field := line
		if end >= 0 {
			field = line[:end]
		}
		if i < len(h.canon) && h.canon[i] != nil && !bytes.Equal(field, []byte(`\N`)) {
			field = h.canon[i](field)
		}
		out = append(out, field...)
		if end < 0 {
			break
		}
		out = append(out, '\t')
		line = line[end+1:]
	}
	h.scratch = out
	h.sum.addLine(out)
}

// lineWriter receives COPY TO output and hashes it line by line.
type lineWriter struct {
	h       *rowHasher
	partial []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.partial = append(w.partial, p...)
			break
		}
		if len(w.partial) > 0 {
			w.partial = append(w.partial, p[:i]...)
			w.h.add(w.partial)
			w.partial = w.partial[:0]
		} else {
			w.h.add(p[:i])
		}
		p = p[i+1:]
	}
	return n, nil
}
