package fleet

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// MaxFileSize is the largest fleet file Load and Parse accept. A fleet of
// 10,000 clients is about 1 MiB; anything much larger is a mistake or an attack.
const MaxFileSize = 4 << 20

// Load reads, validates and defaults the fleet file at path. I/O failures are
// returned wrapped; problems with the content are returned as *Diagnostics.
func Load(path string) (*Spec, error) {
	// One byte past the cap, so Parse can tell "too large" from "exactly 4 MiB".
	data, err := readRegular(path, MaxFileSize, true)
	if err != nil {
		return nil, fmt.Errorf("load fleet: %w", err)
	}
	spec, err := Parse(data, path)
	if err != nil {
		return nil, err
	}
	spec.Path = path
	return spec, nil
}

// Parse validates and defaults a fleet file held in memory; filename is used
// in diagnostics only. On any problem it returns a nil spec and *Diagnostics
// listing every problem found. The returned spec has Digest set (Path is left
// to Load) and its Warnings, which are only reported for a file without
// errors.
func Parse(data []byte, filename string) (*Spec, error) {
	if filename == "" {
		filename = "<input>"
	}
	c := newCollector(filename)
	spec := parseSafely(c, data)
	if ds := c.result(); ds != nil {
		return nil, ds
	}
	if spec == nil { // cannot happen: every nil path records a diagnostic
		return nil, &Diagnostics{{File: filename, Line: 1, Column: 1, Message: "internal error: no spec and no diagnostic"}}
	}
	sum := sha256.Sum256(data)
	spec.Digest = hex.EncodeToString(sum[:])
	if len(c.warnings) > 0 {
		spec.Warnings = tidy(filename, c.warnings, "warnings")
	}
	return spec, nil
}

// parseSafely turns a panic in a dependency into a diagnostic: a hostile file
// must never crash a daemon that reloads it. The fuzz test treats such a
// diagnostic as a failure, so this is a seat belt, not a control path.
func parseSafely(c *collector, data []byte) (spec *Spec) {
	defer func() {
		if r := recover(); r != nil {
			c.record(nil, "", fmt.Sprintf("internal error while loading (please report): %v", r))
			spec = nil
		}
	}()
	return parse(c, data)
}

func parse(c *collector, data []byte) *Spec {
	if len(data) > MaxFileSize {
		c.at(nil, "", "file is larger than %d MiB", MaxFileSize>>20)
		return nil
	}
	root := decodeDocument(c, data)
	if root == nil {
		return nil
	}
	sch, err := loadSchema()
	if err != nil {
		c.at(nil, "", "internal error: embedded schema: %v", err)
		return nil
	}
	e := newExpander(c, root)
	tree := e.expand(root, "", 0, 0)
	if e.failed || tree == nil {
		return nil
	}
	if tree.Kind != yaml.MappingNode {
		c.at(tree, "", "the top level must be a mapping with the fleet's fields (apiVersion, fleet, secretKeySeed, defaults, clients), got %s", nodeType(tree))
		return nil
	}
	checkSchema(c, sch, tree)

	// Decode even after schema errors so the semantic checks can report their
	// problems in the same run; fields with a wrong type stay zero, and the
	// checks skip fields the schema already rejected (collector.blocked).
	var spec Spec
	_ = tree.Decode(&spec)
	ix := nodeIndex{root: tree}
	validate(c, &spec, ix)
	if len(c.diags) > 0 {
		return nil
	}
	applyDefaults(&spec, ix)
	return &spec
}

// decodeDocument parses data as exactly one YAML document and returns its
// root node, or nil after recording why not.
func decodeDocument(c *collector, data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			c.at(nil, "", "file is empty; a fleet needs at least apiVersion, fleet, secretKeySeed and clients")
		} else {
			yamlError(c, err)
		}
		return nil
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		yamlError(c, err)
		return nil
	default:
		at := &extra
		if len(extra.Content) > 0 {
			at = extra.Content[0]
		}
		c.at(at, "", "more than one YAML document (---): a fleet file holds exactly one")
		return nil
	}
	if len(doc.Content) == 0 || isNull(doc.Content[0]) {
		at := &doc
		if len(doc.Content) > 0 {
			at = doc.Content[0]
		}
		c.at(at, "", "document is empty; a fleet needs at least apiVersion, fleet, secretKeySeed and clients")
		return nil
	}
	return doc.Content[0]
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// yamlLineRe is compiled on first use: package init stays free (fleetctl
// version pays nothing for the loader).
var yamlLineRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^yaml: line (\d+): (.*)$`) })

// yamlError records a syntax error from the YAML parser. It reports a line
// but no column (Column 0 renders as FILE:LINE:), and no line at all for
// errors on the first line.
func yamlError(c *collector, err error) {
	d := Diagnostic{File: c.file, Line: 1, Message: "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	if m := yamlLineRe().FindStringSubmatch(err.Error()); m != nil {
		if line, convErr := strconv.Atoi(m[1]); convErr == nil && line > 0 {
			d.Line = line
		}
		d.Message = "invalid YAML: " + m[2]
	}
	d.Message = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, d.Message)
	c.diags = append(c.diags, d)
}

// nodeIndex finds values (and mapping keys) of the expanded tree by field
// path, so semantic checks on the decoded Spec can point at the text. Lookups
// walk from the root: cheaper than indexing every node of a large fleet when
// only a few paths per client are ever asked for.
type nodeIndex struct{ root *yaml.Node }

// val returns the value at path, or nil.
func (ix nodeIndex) val(path string) *yaml.Node {
	_, v := ix.lookup(path)
	return v
}

// key returns the mapping key node of the last segment of path, or nil.
func (ix nodeIndex) key(path string) *yaml.Node {
	k, _ := ix.lookup(path)
	return k
}

// lookup follows a path made by joinKey and joinIndex: key, .key, ["key"], [i].
func (ix nodeIndex) lookup(path string) (key, val *yaml.Node) {
	n := ix.root
	for path != "" && n != nil {
		switch {
		case strings.HasPrefix(path, `["`):
			q, err := strconv.QuotedPrefix(path[1:])
			if err != nil || !strings.HasPrefix(path[1+len(q):], "]") {
				return nil, nil
			}
			name, _ := strconv.Unquote(q)
			key, n = child(n, name)
			path = path[len(q)+2:]
		case path[0] == '[':
			end := strings.IndexByte(path, ']')
			i, err := strconv.Atoi(path[1:max(end, 1)])
			if end < 0 || err != nil || n.Kind != yaml.SequenceNode || i < 0 || i >= len(n.Content) {
				return nil, nil
			}
			key, n = nil, n.Content[i]
			path = path[end+1:]
		default:
			path = strings.TrimPrefix(path, ".")
			end := strings.IndexAny(path, ".[")
			if end < 0 {
				end = len(path)
			}
			key, n = child(n, path[:end])
			path = path[end:]
		}
	}
	return key, n
}

// child returns the key and value of name in mapping n.
func child(n *yaml.Node, name string) (key, val *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == name {
			return n.Content[i], n.Content[i+1]
		}
	}
	return nil, nil
}
