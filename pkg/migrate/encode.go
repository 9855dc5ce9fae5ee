package migrate

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Alteration kinds: every change a value undergoes on its way to PostgreSQL
// is one of these, counted per table and column and reported. A value
// changed in any other way is a bug; a value PostgreSQL rejects fails the
// migration instead of being dropped.
const (
	// AltNULRemoved: NUL bytes (0x00) removed from text; PostgreSQL rejects
	// them (SQLSTATE 22021). Only the NULs go, the rest of the text stays.
	AltNULRemoved = "nul-removed"
	// AltInvalidJSON: text that is not valid JSON in a json/jsonb column is
	// stored as a JSON string holding the original text, so nothing is lost
	// and the column stays valid JSON.
	AltInvalidJSON = "invalid-json-to-json-string"
	// AltEmptyToNull: an empty (or blank) string in a date, time or number
	// column becomes NULL.
	AltEmptyToNull = "empty-string-to-null"
	// AltInvalidUTF8: bytes that are not UTF-8 replaced by U+FFFD.
	AltInvalidUTF8 = "invalid-utf8-replaced"
	// AltIntToTrue: an integer other than 0 or 1 in a boolean column became true.
	AltIntToTrue = "non-0/1-integer-to-true"
	// AltEpochToTimestamp: an integer in a date/timestamp column read as Unix seconds.
	AltEpochToTimestamp = "epoch-seconds-to-timestamp"
	// AltTextToBool: a word in a boolean column ('yes', 'OFF', 'T', ' true')
	// read as true or false ('0', '1', 'true', 'false' are not counted).
	AltTextToBool = "text-to-boolean"
	// AltJSONDuplicateKeys: a JSON object with a key given twice, in a jsonb
	// column, which keeps only the last value of each key.
	AltJSONDuplicateKeys = "jsonb-duplicate-keys-collapsed"
)

// colEncoder turns SQLite values into one field of PostgreSQL's COPY text
// format for one target column, coercing by the target type.
type colEncoder struct {
	kind  kind
	alter map[string]int64
}

func (e *colEncoder) count(what string) {
	if e.alter == nil {
		e.alter = map[string]int64{}
	}
	e.alter[what]++
}

// appendField appends v, encoded, to buf. v is what database/sql returns
// for SQLite: nil, int64, float64, string or []byte.
func (e *colEncoder) appendField(buf []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(buf, `\N`...)
	case int64:
		return e.appendInt(buf, x)
	case float64:
		return e.appendFloat(buf, x)
	case []byte:
		if e.kind == kBytea {
			return appendBytea(buf, x)
		}
		return e.appendString(buf, string(x))
	case string:
		if e.kind == kBytea {
			return appendBytea(buf, []byte(x))
		}
		return e.appendString(buf, x)
	case bool: // not produced by the SQLite driver; kept for completeness
		if x {
			return e.appendInt(buf, 1)
		}
		return e.appendInt(buf, 0)
	case time.Time:
		return appendEscaped(buf, x.UTC().Format("2006-01-02 15:04:05.999999999"))
	}
	return e.appendString(buf, "")
}

func (e *colEncoder) appendInt(buf []byte, x int64) []byte {
	switch e.kind {
	case kBool:
		if x != 0 && x != 1 {
			e.count(AltIntToTrue)
		}
		if x != 0 {
			return append(buf, 't')
		}
		return append(buf, 'f')
	case kDate, kTimestamp, kTimestampTZ:
		e.count(AltEpochToTimestamp)
		t := time.Unix(x, 0).UTC()
		if e.kind == kDate {
			return append(buf, t.Format("2006-01-02")...)
		}
		return append(buf, t.Format("2006-01-02 15:04:05")...)
	case kBytea:
		return appendBytea(buf, []byte(strconv.FormatInt(x, 10)))
	}
	return strconv.AppendInt(buf, x, 10)
}

func (e *colEncoder) appendFloat(buf []byte, x float64) []byte {
	switch {
	case e.kind == kBool:
		// Any non-zero value is true, as in SQLite; 0.5 must not become false.
		if x != 0 && x != 1 {
			e.count(AltIntToTrue)
			return append(buf, 't')
		}
		return e.appendInt(buf, int64(x))
	case e.kind == kInt && x == math.Trunc(x) && math.Abs(x) < 1<<63:
		return strconv.AppendInt(buf, int64(x), 10)
	case math.IsNaN(x):
		return append(buf, "NaN"...)
	case math.IsInf(x, 1):
		return append(buf, "Infinity"...)
	case math.IsInf(x, -1):
		return append(buf, "-Infinity"...)
	case e.kind == kText || e.kind == kOther:
		return appendEscaped(buf, realText(x))
	}
	return strconv.AppendFloat(buf, x, 'g', -1, 64)
}

// realText is a REAL as text in a text (or untyped) column, kept exact and
// still a real: the shortest form that reads back as the same double, with
// ".0" where it would otherwise read as an integer (1.0, not 1; 1.0e+20,
// not 1e+20), as SQLite itself prints it.
func realText(x float64) string {
	s := strconv.FormatFloat(x, 'g', -1, 64)
	mant, exp, hasExp := strings.Cut(s, "e")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	if hasExp {
		return mant + "e" + exp
	}
	return mant
}

func (e *colEncoder) appendString(buf []byte, s string) []byte {
	if strings.IndexByte(s, 0) >= 0 {
		e.count(AltNULRemoved)
		s = strings.ReplaceAll(s, "\x00", "")
	}
	if !utf8.ValidString(s) {
		e.count(AltInvalidUTF8)
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	switch e.kind {
	case kBool:
		switch s {
		case "1", "true":
			return append(buf, 't')
		case "0", "false":
			return append(buf, 'f')
		}
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "1", "t", "true", "y", "yes", "on":
			e.count(AltTextToBool)
			return append(buf, 't')
		case "0", "f", "false", "n", "no", "off":
			e.count(AltTextToBool)
			return append(buf, 'f')
		case "":
			e.count(AltEmptyToNull)
			return append(buf, `\N`...)
		}
	case kInt, kFloat, kNumeric, kDate, kTimestamp, kTimestampTZ:
		if strings.TrimSpace(s) == "" {
			e.count(AltEmptyToNull)
			return append(buf, `\N`...)
		}
	case kJSON, kJSONB:
		if !json.Valid([]byte(s)) {
			e.count(AltInvalidJSON)
			b, _ := json.Marshal(s)
			s = string(b)
		}
		if e.kind == kJSONB && strings.Contains(s, `\u0000`) {
			s = stripJSONNul(s, e)
		}
		if e.kind == kJSONB && duplicateKeys(s) {
			e.count(AltJSONDuplicateKeys)
		}
	}
	return appendEscaped(buf, s)
}

// duplicateKeys reports whether a JSON text has an object with a key given
// twice (jsonb keeps the last one). Only texts with at least two keys are
// scanned.
func duplicateKeys(s string) bool {
	if strings.Count(s, ":") < 2 {
		return false
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	type frame struct {
		obj    bool
		keys   map[string]bool
		expKey bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				if top != nil && top.obj {
					top.expKey = true
				}
				stack = append(stack, &frame{obj: d == '{', keys: map[string]bool{}, expKey: d == '{'})
			case '}', ']':
				stack = stack[:len(stack)-1]
				if len(stack) == 0 {
					return false
				}
			}
			continue
		}
		if top == nil || !top.obj {
			continue
		}
		if top.expKey {
			k, _ := tok.(string)
			if top.keys[k] {
				return true
			}
			top.keys[k] = true
			top.expKey = false
		} else {
			top.expKey = true
		}
	}
}

// stripJSONNul removes \u0000 escapes from JSON strings (jsonb rejects them).
func stripJSONNul(s string, e *colEncoder) string {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return s
	}
	var walk func(any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case string:
			return strings.ReplaceAll(x, "\x00", "")
		case []any:
			for i := range x {
				x[i] = walk(x[i])
			}
		case map[string]any:
			out := make(map[string]any, len(x))
			for k, val := range x {
				out[strings.ReplaceAll(k, "\x00", "")] = walk(val)
			}
			return out
		}
		return v
	}
	b, err := json.Marshal(walk(v))
	if err != nil {
		return s
	}
	e.count(AltNULRemoved)
	return string(b)
}

func appendBytea(buf, b []byte) []byte {
	buf = append(buf, `\\x`...)
	return hex.AppendEncode(buf, b)
}

// appendEscaped writes s in COPY text format, escaping exactly the bytes
// PostgreSQL's COPY TO escapes, so a field reads back byte-identical.
func appendEscaped(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			buf = append(buf, '\\', '\\')
		case '\b':
			buf = append(buf, '\\', 'b')
		case '\f':
			buf = append(buf, '\\', 'f')
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\r':
			buf = append(buf, '\\', 'r')
		case '\t':
			buf = append(buf, '\\', 't')
		case '\v':
			buf = append(buf, '\\', 'v')
		default:
			buf = append(buf, c)
		}
	}
	return buf
}

// unescapeCopy reverses appendEscaped (and PostgreSQL's COPY TO escaping).
func unescapeCopy(f []byte) []byte {
	if bytes.IndexByte(f, '\\') < 0 {
		return f
	}
	out := make([]byte, 0, len(f))
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '\\' || i+1 == len(f) {
			out = append(out, c)
			continue
		}
		i++
		switch f[i] {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'v':
			out = append(out, '\v')
		default:
			out = append(out, f[i])
		}
	}
	return out
}
