package fleet

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Diagnostic is one problem in a fleet file, located by line and column
// (1-based; Column is 0 when the YAML parser did not say) and by field path
// (dotted keys and [i] indexes, e.g. "clients[1].port", "" for the file).
type Diagnostic struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
	// Warning marks a problem that does not stop the load (Spec.Warnings).
	Warning bool `json:"-"`
}

// String renders the diagnostic as FILE:LINE:COL: field: message (with
// "warning: " before the message of a warning).
func (d Diagnostic) String() string {
	var b strings.Builder
	if d.File != "" {
		b.WriteString(d.File)
		b.WriteByte(':')
	}
	if d.Line > 0 {
		b.WriteString(strconv.Itoa(d.Line))
		b.WriteByte(':')
		if d.Column > 0 {
			b.WriteString(strconv.Itoa(d.Column))
			b.WriteByte(':')
		}
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	if d.Field != "" {
		b.WriteString(d.Field)
		b.WriteString(": ")
	}
	if d.Warning {
		b.WriteString("warning: ")
	}
	b.WriteString(d.Message)
	return b.String()
}

// Diagnostics is every problem found in one load, sorted by position. Parse
// returns it as *Diagnostics; it marshals to JSON as an array of objects.
type Diagnostics []Diagnostic

// Error renders one diagnostic per line.
func (ds Diagnostics) Error() string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// maxDiagnostics caps the report: a hostile or badly broken file must not
// produce megabytes of messages.
const maxDiagnostics = 500

// collector gathers diagnostics during one Parse and remembers which field
// paths already have an error, so later stages do not pile a second, derived
// complaint onto the same field.
type collector struct {
	file     string
	diags    Diagnostics
	warnings Diagnostics
	bad      map[string]bool
}

func newCollector(file string) *collector {
	return &collector{file: file, bad: map[string]bool{}}
}

// at records a problem at node n (nil: line 1) for field path, and blocks
// further complaints about path and everything under it.
func (c *collector) at(n *yaml.Node, path, format string, args ...any) {
	c.record(n, path, fmt.Sprintf(format, args...))
	c.bad[path] = true
}

// note records a problem without blocking further checks of path.
func (c *collector) note(n *yaml.Node, path, format string, args ...any) {
	c.record(n, path, fmt.Sprintf(format, args...))
}

func (c *collector) record(n *yaml.Node, path, msg string) {
	line, col := 1, 1
	if n != nil && n.Line > 0 {
		line, col = n.Line, n.Column
	}
	c.diags = append(c.diags, Diagnostic{File: c.file, Line: line, Column: col, Field: shortPath(path), Message: msg})
}

// shortPath keeps the ends of a pathologically long field path (a deeply
// nested hostile document): the message must stay one readable line.
func shortPath(p string) string {
	const keep = 60
	if len(p) <= 2*keep+3 {
		return p
	}
	head, tail := keep, len(p)-keep
	for head > 0 && !isRuneStart(p[head]) {
		head--
	}
	for tail < len(p) && !isRuneStart(p[tail]) {
		tail++
	}
	return p[:head] + "..." + p[tail:]
}

// warn records a warning: reported with the loaded spec, never failing it.
func (c *collector) warn(n *yaml.Node, path, format string, args ...any) {
	line, col := 1, 1
	if n != nil && n.Line > 0 {
		line, col = n.Line, n.Column
	}
	c.warnings = append(c.warnings, Diagnostic{File: c.file, Line: line, Column: col, Field: shortPath(path),
		Message: fmt.Sprintf(format, args...), Warning: true})
}

// blocked reports whether path or one of its ancestors already has an error.
func (c *collector) blocked(path string) bool {
	for {
		if c.bad[path] {
			return true
		}
		i := strings.LastIndexAny(path, ".[")
		if i <= 0 {
			return false
		}
		path = path[:i]
	}
}

// result sorts, removes exact repeats (a merged anchor can be reported once
// per use) and caps the diagnostics; nil when there are none.
func (c *collector) result() *Diagnostics {
	if len(c.diags) == 0 {
		return nil
	}
	out := tidy(c.file, c.diags, "errors")
	return &out
}

// tidy sorts diagnostics by position, drops exact repeats and caps them.
func tidy(file string, ds Diagnostics, noun string) Diagnostics {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		if a.Field != b.Field {
			return a.Field < b.Field
		}
		return a.Message < b.Message
	})
	out := ds[:0]
	for i, d := range ds {
		if i > 0 && d == ds[i-1] {
			continue
		}
		out = append(out, d)
	}
	if n := len(out); n > maxDiagnostics {
		last := out[maxDiagnostics-1]
		out = append(out[:maxDiagnostics:maxDiagnostics], Diagnostic{
			File: file, Line: last.Line, Column: last.Column, Warning: last.Warning,
			Message: fmt.Sprintf("too many %s: %d more not shown", noun, n-maxDiagnostics),
		})
	}
	return out
}

// joinKey appends a mapping key to a field path. Keys come from the input, so
// anything unusual is quoted (and long keys cut) to keep messages one line.
func joinKey(path, key string) string {
	if !isPlainKey(key) {
		return path + "[" + quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// isPlainKey reports whether a field path can show key unquoted:
// [A-Za-z0-9_-]{1,64}.
func isPlainKey(key string) bool {
	if key == "" || len(key) > 64 {
		return false
	}
	for i := 0; i < len(key); i++ {
		switch c := key[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

func joinIndex(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// quote renders an input string for a message: Go-quoted (control characters
// escaped) and cut to a readable length.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		cut := max
		for cut > 0 && !isRuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(s[:cut]) + "..."
	}
	return strconv.Quote(s)
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
