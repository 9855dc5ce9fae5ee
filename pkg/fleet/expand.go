package fleet

import (
	"gopkg.in/yaml.v3"
)

// Limits on what one fleet file may make the loader do. A billion-laughs
// document is a few hundred bytes that expand to 10^9 nodes; these stop it
// after a bounded amount of work, whatever its shape.
const (
	// maxAliasNodes bounds the nodes produced by expanding aliases (and merge
	// keys) beyond aliasAllowance; the allowance grows with the document so a
	// large fleet sharing settings through anchors still loads.
	maxAliasNodes = 10_000
	// maxAliasNodesTotal bounds it whatever the document size.
	maxAliasNodesTotal = 1_000_000
	// maxAliasDepth bounds aliases within anchors within aliases (and stops a
	// self-referencing anchor).
	maxAliasDepth = 32
	// maxDepth bounds nesting; fleet.yaml itself is six levels deep.
	maxDepth = 64
)

// expander copies a parsed document into a plain tree: aliases replaced by
// copies of their anchors, merge keys ("<<") applied, duplicate keys and
// unsupported tags reported. Later stages then never meet an alias, so every
// walk over the tree is bounded by the budget spent here.
type expander struct {
	c      *collector
	budget int  // alias-expanded nodes still allowed
	failed bool // budget or depth exhausted: stop copying
}

func newExpander(c *collector, root *yaml.Node) *expander {
	allow := maxAliasNodes + 2*countNodes(root)
	if allow > maxAliasNodesTotal {
		allow = maxAliasNodesTotal
	}
	return &expander{c: c, budget: allow}
}

// countNodes counts the nodes as parsed (aliases not followed).
func countNodes(n *yaml.Node) int {
	if n == nil {
		return 0
	}
	total := 1
	for _, ch := range n.Content {
		total += countNodes(ch)
	}
	return total
}

// expand returns a plain copy of n. aliases counts the aliases being followed
// (0 outside any alias); only nodes produced under an alias spend budget.
func (e *expander) expand(n *yaml.Node, path string, depth, aliases int) *yaml.Node {
	if e.failed || n == nil {
		return nil
	}
	if depth > maxDepth {
		e.c.at(n, path, "nested more than %d levels deep", maxDepth)
		e.failed = true
		return nil
	}
	if n.Kind == yaml.AliasNode {
		return e.alias(n, path, depth, aliases)
	}
	if aliases > 0 {
		e.budget--
		if e.budget < 0 {
			e.c.at(n, path, "too many alias expansions: aliases and merge keys expand to more than the allowed number of nodes")
			e.failed = true
			return nil
		}
	}
	out := &yaml.Node{
		Kind: n.Kind, Style: n.Style, Tag: n.Tag, Value: n.Value,
		Line: n.Line, Column: n.Column,
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) > 0 {
			if ch := e.expand(n.Content[0], path, depth, aliases); ch != nil {
				out.Content = []*yaml.Node{ch}
			}
		}
	case yaml.SequenceNode:
		e.checkTag(n, path)
		out.Content = make([]*yaml.Node, 0, len(n.Content))
		for i, item := range n.Content {
			ch := e.expand(item, joinIndex(path, i), depth+1, aliases)
			if ch == nil {
				// Keep indexes stable for the paths of later items.
				ch = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: item.Line, Column: item.Column}
			}
			out.Content = append(out.Content, ch)
		}
	case yaml.MappingNode:
		e.checkTag(n, path)
		out.Content = e.mapping(n, path, depth, aliases)
	case yaml.ScalarNode:
		e.checkTag(n, path)
	}
	return out
}

func (e *expander) alias(n *yaml.Node, path string, depth, aliases int) *yaml.Node {
	if aliases >= maxAliasDepth {
		e.c.at(n, path, "too many alias expansions: aliases nested more than %d deep", maxAliasDepth)
		e.failed = true
		return nil
	}
	out := e.expand(n.Alias, path, depth, aliases+1)
	if out != nil {
		// The value is "here" even if its text is at the anchor.
		out.Line, out.Column = n.Line, n.Column
	}
	return out
}

// mapping copies key/value pairs, reporting duplicate keys at the second
// occurrence and applying merge keys: explicit keys win over merged ones, and
// earlier merge sources over later ones, as YAML's merge-key type says.
func (e *expander) mapping(n *yaml.Node, path string, depth, aliases int) []*yaml.Node {
	var out, merged []*yaml.Node
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.AliasNode && k.Alias != nil {
			k = k.Alias
		}
		if k.Kind != yaml.ScalarNode {
			e.c.note(k, path, "mapping keys must be plain strings")
			continue
		}
		if k.ShortTag() == "!!merge" {
			merged = append(merged, e.mergeSources(v, path, depth, aliases)...)
			continue
		}
		kpath := joinKey(path, k.Value)
		if first, dup := seen[k.Value]; dup {
			// Reported without blocking kpath: the first value is still checked.
			e.c.note(k, kpath, "duplicate key (first defined at line %d)", first.Line)
			continue
		}
		seen[k.Value] = k
		ck := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k.Value, Line: k.Line, Column: k.Column}
		cv := e.expand(v, kpath, depth+1, aliases)
		if cv == nil {
			cv = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: v.Line, Column: v.Column}
		}
		out = append(out, ck, cv)
	}
	for i := 0; i+1 < len(merged); i += 2 {
		k := merged[i]
		if _, ok := seen[k.Value]; ok {
			continue
		}
		seen[k.Value] = k
		out = append(out, merged[i], merged[i+1])
	}
	return out
}

// mergeSources expands the value of a "<<" key: a mapping or a sequence of
// mappings (usually aliases), returning their key/value pairs in priority order.
func (e *expander) mergeSources(v *yaml.Node, path string, depth, aliases int) []*yaml.Node {
	src := e.expand(v, path, depth, aliases)
	if src == nil {
		return nil
	}
	switch src.Kind {
	case yaml.MappingNode:
		return src.Content
	case yaml.SequenceNode:
		var pairs []*yaml.Node
		for _, m := range src.Content {
			if m.Kind != yaml.MappingNode {
				e.c.note(m, path, "a merge key (<<) takes a mapping or a list of mappings")
				continue
			}
			pairs = append(pairs, m.Content...)
		}
		return pairs
	}
	e.c.note(v, path, "a merge key (<<) takes a mapping or a list of mappings")
	return nil
}

// checkTag rejects explicit tags the schema has no type for (!!binary, !!set,
// custom !tags): silently reading them as something else would hide a mistake.
func (e *expander) checkTag(n *yaml.Node, path string) {
	switch n.ShortTag() {
	case "!!str", "!!int", "!!float", "!!bool", "!!null", "!!timestamp":
		if n.Kind == yaml.ScalarNode {
			return
		}
	case "!!map":
		if n.Kind == yaml.MappingNode {
			return
		}
	case "!!seq":
		if n.Kind == yaml.SequenceNode {
			return
		}
	}
	e.c.at(n, path, "unsupported YAML tag %s", quote(n.Tag))
}
