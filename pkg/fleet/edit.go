package fleet

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// Edits of fleet.yaml made by commands (stop, start, rollback, destroy) so
// that the file stays the source of truth: watch and the next apply honour
// them because they are in the file. An edit is surgical: only the lines of
// the one field change, so comments, order, quoting and indentation of
// everything else stay exactly as the operator wrote them. Every edit is
// re-parsed before it is returned: an edit never yields an invalid file.

// ErrNoClient: the file has no client of that name.
var ErrNoClient = errors.New("no such client")

// SetClientField sets key of client's entry to value (a scalar), replacing
// the value in place when the key is there (its line comment kept) and
// adding "key: value" under the client's name otherwise. comment, when not
// empty, becomes the line's comment ("# ..." is added). The result is
// validated with Parse (filename names it in errors).
func SetClientField(data []byte, filename, client, key, value, comment string) ([]byte, error) {
	lines, _, item, err := clientEntry(data, client)
	if err != nil {
		return nil, err
	}
	scalar, err := yamlScalar(value)
	if err != nil {
		return nil, err
	}
	if comment != "" {
		comment = "# " + strings.TrimPrefix(comment, "# ")
	}
	var out [][]byte
	if k, v := mappingValue(item, key); v != nil {
		if v.Kind != yaml.ScalarNode || v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 || v.Line != k.Line {
			return nil, fmt.Errorf("%s:%d:%d: clients[%s].%s: not a one-line value; edit it by hand", filename, v.Line, v.Column, client, key)
		}
		if comment == "" {
			comment = v.LineComment
		}
		i := v.Line - 1
		line := string(lines[i])
		newLine := line[:byteCol(line, v.Column)] + scalar
		if comment != "" {
			newLine += " " + comment
		}
		out = replaceLine(lines, i, newLine)
	} else {
		name, nameVal := mappingValue(item, "name")
		indent := strings.Repeat(" ", byteCol(string(lines[name.Line-1]), name.Column))
		newLine := indent + key + ": " + scalar
		if comment != "" {
			newLine += " " + comment
		}
		out = insertLine(lines, nameVal.Line, newLine) // after the name's line
	}
	return checked(bytes.Join(out, []byte("\n")), filename)
}

// RemoveClient deletes client's entry from the clients list: its lines from
// the "- " that starts it to the line before the next entry (or the end of
// the list). Comment lines directly above the entry go with it.
func RemoveClient(data []byte, filename, client string) ([]byte, error) {
	lines, seq, item, err := clientEntry(data, client)
	if err != nil {
		return nil, err
	}
	first := item.Line - 1 // the "- name:" line (the mapping starts on it)
	last := len(lines) - 1
	for i, n := range seq.Content {
		if n == item && i+1 < len(seq.Content) {
			last = seq.Content[i+1].Line - 2
		} else if n == item {
			last = endOfBlock(lines, first)
		}
	}
	// The next entry's leading comments belong to it, not to this one.
	for last > first && isCommentOrBlank(lines[last]) {
		last--
	}
	for first > 0 && isComment(lines[first-1]) {
		first--
	}
	out := append(append([][]byte{}, lines[:first]...), lines[last+1:]...)
	if len(seq.Content) == 1 { // the list would be null: say it is empty
		key := seq.Line - 1
		for key > 0 && !bytes.Contains(lines[key], []byte("clients:")) {
			key--
		}
		if i := bytes.Index(out[key], []byte("clients:")); i >= 0 && len(bytes.TrimSpace(out[key][i+len("clients:"):])) == 0 {
			out[key] = append(append([]byte{}, out[key][:i]...), "clients: []"...)
		}
	}
	return checked(bytes.Join(out, []byte("\n")), filename)
}

// Diff renders the lines an edit changed, "-" old and "+" new, with a line
// of context on each side; edits are local, so the common head and tail
// are skipped rather than aligned.
func Diff(filename string, before, after []byte) string {
	a, b := strings.Split(string(before), "\n"), strings.Split(string(after), "\n")
	head := 0
	for head < len(a) && head < len(b) && a[head] == b[head] {
		head++
	}
	tail := 0
	for tail < len(a)-head && tail < len(b)-head && a[len(a)-1-tail] == b[len(b)-1-tail] {
		tail++
	}
	if head == len(a) && head == len(b) {
		return ""
	}
	var s strings.Builder
	from := max(head-1, 0)
	fmt.Fprintf(&s, "--- %s\n+++ %s (edited)\n@@ line %d @@\n", filename, filename, from+1)
	for i := from; i < head; i++ {
		s.WriteString("  " + a[i] + "\n")
	}
	for _, l := range a[head : len(a)-tail] {
		s.WriteString("- " + l + "\n")
	}
	for _, l := range b[head : len(b)-tail] {
		s.WriteString("+ " + l + "\n")
	}
	if tail > 0 && len(a)-tail < len(a) && a[len(a)-tail] != "" {
		s.WriteString("  " + a[len(a)-tail] + "\n")
	}
	return s.String()
}

// WriteFileAtomic replaces path with data (a temporary file in the same
// directory, then a rename), keeping the file's permission bits.
func WriteFileAtomic(path string, data []byte) error {
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".fleetctl-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // gone after the rename; cleans up on failure
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// clientEntry finds client's mapping in the clients list.
func clientEntry(data []byte, client string) ([][]byte, *yaml.Node, *yaml.Node, error) {
	seq := clientsNode(data)
	if seq == nil {
		return nil, nil, nil, fmt.Errorf("%w: %q (the file has no block-style clients list)", ErrNoClient, client)
	}
	for _, item := range seq.Content {
		if item.Kind != yaml.MappingNode {
			continue
		}
		if _, v := mappingValue(item, "name"); v != nil && v.Kind == yaml.ScalarNode && v.Value == client {
			if item.Style&yaml.FlowStyle != 0 {
				return nil, nil, nil, fmt.Errorf("client %q is written in flow style ({...}); rewrite it as a block to let fleetctl edit it", client)
			}
			return bytes.Split(data, []byte("\n")), seq, item, nil
		}
	}
	return nil, nil, nil, fmt.Errorf("%w: %q", ErrNoClient, client)
}

func clientsNode(data []byte) *yaml.Node {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 {
		return nil
	}
	_, seq := mappingValue(doc.Content[0], "clients")
	if seq == nil || seq.Kind != yaml.SequenceNode || seq.Style&yaml.FlowStyle != 0 {
		return nil
	}
	return seq
}

func mappingValue(m *yaml.Node, key string) (k, v *yaml.Node) {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

// yamlScalar renders value as YAML would write it (quoted where a plain
// scalar would read as something else: "no", "1.0", "", ...).
func yamlScalar(value string) (string, error) {
	if strings.ContainsAny(value, "\n\r") {
		return "", fmt.Errorf("value %q: must be one line", value)
	}
	b, err := yaml.Marshal(value)
	if err != nil {
		return "", fmt.Errorf("value %q: %w", value, err)
	}
	return strings.TrimSuffix(string(b), "\n"), nil
}

// byteCol turns yaml.v3's 1-based column (counted in runes) into a byte offset.
func byteCol(line string, col int) int {
	n := 0
	for i := range line {
		if n == col-1 {
			return i
		}
		n++
	}
	return len(line)
}

func replaceLine(lines [][]byte, i int, s string) [][]byte {
	out := append([][]byte{}, lines...)
	out[i] = []byte(s)
	return out
}

func insertLine(lines [][]byte, after int, s string) [][]byte {
	out := make([][]byte, 0, len(lines)+1)
	out = append(out, lines[:after]...)
	out = append(out, []byte(s))
	return append(out, lines[after:]...)
}

// endOfBlock is the last line of the list entry starting at first: the
// lines after it that are indented deeper than its "- ".
func endOfBlock(lines [][]byte, first int) int {
	dash := len(lines[first]) - len(bytes.TrimLeft(lines[first], " "))
	last := first
	for i := first + 1; i < len(lines); i++ {
		l := lines[i]
		if len(bytes.TrimSpace(l)) == 0 || isComment(l) {
			continue
		}
		if len(l)-len(bytes.TrimLeft(l, " ")) <= dash {
			break
		}
		last = i
	}
	return last
}

func isComment(l []byte) bool { return bytes.HasPrefix(bytes.TrimSpace(l), []byte("#")) }

func isCommentOrBlank(l []byte) bool { return len(bytes.TrimSpace(l)) == 0 || isComment(l) }

func checked(out []byte, filename string) ([]byte, error) {
	if _, err := Parse(out, filename); err != nil {
		return nil, fmt.Errorf("the edited file would not be valid (nothing was written):\n%w", err)
	}
	return out, nil
}
