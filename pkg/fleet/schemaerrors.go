package fleet

import (
	"encoding/json"
	"fmt"
	"math/big"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"gopkg.in/yaml.v3"
)

// reporter words the validator's errors for people and records them at the
// YAML node they are about, with the field path (clients[1].port). The
// validator's own messages are never shown: they quote values, and a value
// may be a secret. One problem per field: when a value breaks several
// keywords (a 64-letter name breaks maxLength and pattern) the first in
// keywordRank is reported.
type reporter struct {
	c         *collector
	sch       *fleetSchema
	root      *yaml.Node
	nonFinite map[string]*yaml.Node
}

// leaf is one violated keyword at one instance location; key is set when
// it is a mapping key of that location that breaks propertyNames.
type leaf struct {
	loc  []string // instance location (JSON pointer tokens)
	key  string
	kind jsonschema.ErrorKind
	obj  map[string]any // the schema object holding the keyword
}

func (r reporter) report(verr *jsonschema.ValidationError) {
	var leaves []leaf
	keys := map[keyRule][]leaf{}
	r.collect(verr, &leaves, keys)
	leaves = append(leaves, r.keyLeaves(keys)...)
	best := map[string]leaf{} // by instance location
	var order []string
	for _, l := range leaves {
		key := strings.Join(l.loc, "\x00") + "\x00#" + l.key + "\x00" + keywordClass(l.kind)
		if prev, ok := best[key]; !ok {
			order = append(order, key)
			best[key] = l
		} else if keywordRank(l.kind) < keywordRank(prev.kind) {
			best[key] = l
		}
	}
	for _, key := range order {
		r.emit(best[key])
	}
}

// keyRule is a mapping key that breaks the propertyNames of the schema at
// parent (a JSON pointer into the schema).
type keyRule struct{ key, parent string }

// collect walks the error tree down to the violated keywords. A
// propertyNames error is kept aside in keys, with the key's own violations
// (worded like a value's: its pattern's errorMessage), to be placed by
// keyLeaves.
func (r reporter) collect(e *jsonschema.ValidationError, out *[]leaf, keys map[keyRule][]leaf) {
	switch e.ErrorKind.(type) {
	case *kind.Schema, *kind.Group, *kind.Reference, *kind.AllOf, *kind.AnyOf, *kind.OneOf:
		if len(e.Causes) > 0 {
			for _, ch := range e.Causes {
				r.collect(ch, out, keys)
			}
			return
		}
	}
	pn, ok := e.ErrorKind.(*kind.PropertyNames)
	if !ok {
		*out = append(*out, leaf{loc: e.InstanceLocation, kind: e.ErrorKind, obj: r.schemaObject(e)})
		return
	}
	parent, ok := strings.CutSuffix(schemaPointer(e), "/propertyNames")
	if !ok {
		return
	}
	rule := keyRule{key: pn.Property, parent: parent}
	if _, seen := keys[rule]; seen {
		return
	}
	var sub []leaf
	for _, ch := range e.Causes {
		r.collect(ch, &sub, keys)
	}
	if len(sub) == 0 {
		sub = []leaf{{kind: e.ErrorKind}}
	}
	keys[rule] = sub
}

// keyLeaves places the propertyNames errors. The validator (v6.0.3) keeps
// such an error's InstanceLocation in a slice that later siblings overwrite
// (upstream issue 258, pull request 269), so it is not read: every mapping
// of the document that has the key and is governed by the schema whose
// propertyNames it breaks breaks it the same way. One walk places them all.
func (r reporter) keyLeaves(keys map[keyRule][]leaf) []leaf {
	if len(keys) == 0 {
		return nil
	}
	var out []leaf
	var walk func(n *yaml.Node, loc []string)
	walk = func(n *yaml.Node, loc []string) {
		switch n.Kind {
		case yaml.MappingNode:
			var gov []string
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i].Value
				if gov == nil {
					gov = r.sch.governing(loc)
				}
				for _, parent := range gov {
					for _, s := range keys[keyRule{key: k, parent: parent}] {
						out = append(out, leaf{loc: slices.Clone(loc), key: k, kind: s.kind, obj: s.obj})
					}
				}
				walk(n.Content[i+1], append(loc, k))
			}
		case yaml.SequenceNode:
			for i, item := range n.Content {
				walk(item, append(loc, strconv.Itoa(i)))
			}
		}
	}
	walk(r.root, nil)
	return out
}

// schemaPointer is the JSON pointer, into the schema document, of the
// schema object an error's keyword belongs to.
func schemaPointer(e *jsonschema.ValidationError) string {
	_, frag, _ := strings.Cut(e.SchemaURL, "#")
	if f, err := url.PathUnescape(frag); err == nil {
		frag = f
	}
	return frag
}

// schemaObject is the raw schema object an error's keyword belongs to.
func (r reporter) schemaObject(e *jsonschema.ValidationError) map[string]any {
	return r.sch.schemaAt(schemaPointer(e))
}

// keywordClass separates complaints about an object's members (each names
// its own field) from complaints about the value itself, which compete.
func keywordClass(k jsonschema.ErrorKind) string {
	switch k.(type) {
	case *kind.Required:
		return "required"
	case *kind.AdditionalProperties:
		return "additional"
	case *kind.UniqueItems:
		return "unique"
	}
	return "value"
}

// keywordRank orders the keywords of one field: the most basic complaint wins.
func keywordRank(k jsonschema.ErrorKind) int {
	switch k.(type) {
	case *kind.Type:
		return 0
	case *kind.Const:
		return 1
	case *kind.Enum:
		return 2
	case *kind.MinLength:
		return 3
	case *kind.MaxLength:
		return 4
	case *kind.Pattern:
		return 5
	case *kind.Minimum, *kind.ExclusiveMinimum:
		return 6
	case *kind.Maximum, *kind.ExclusiveMaximum:
		return 7
	}
	return 10
}

// node finds the YAML node at an instance location and its field path.
func (r reporter) node(loc []string) (*yaml.Node, string) {
	n, path := r.root, ""
	for _, tok := range loc {
		switch n.Kind {
		case yaml.MappingNode:
			_, v := child(n, tok)
			if v == nil {
				return n, path
			}
			n, path = v, joinKey(path, tok)
		case yaml.SequenceNode:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(n.Content) {
				return n, path
			}
			n, path = n.Content[i], joinIndex(path, i)
		default:
			return n, path
		}
	}
	return n, path
}

func (r reporter) emit(l leaf) {
	n, path := r.node(l.loc)
	if r.c.blocked(path) {
		return // the expander already reported it (a tag, a cycle)
	}
	if l.key != "" {
		kn, _ := child(n, l.key)
		kpath := joinKey(path, l.key)
		if !r.c.blocked(kpath) {
			key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: l.key}
			r.c.at(kn, kpath, "%s", r.message(l.kind, l.obj, key))
		}
		return
	}
	switch k := l.kind.(type) {
	case *kind.Required:
		for _, name := range k.Missing {
			r.c.at(n, joinKey(path, name), "%s", requiredMessage(l.obj, name))
		}
	case *kind.AdditionalProperties:
		known := propertyNames(l.obj)
		for _, name := range k.Properties {
			kn, _ := child(n, name)
			kpath := joinKey(path, name)
			if !r.c.blocked(kpath) {
				r.c.at(kn, kpath, "%s", unknownField(name, known))
			}
		}
	case *kind.UniqueItems:
		r.duplicates(n, path)
	default:
		if _, nf := r.nonFinite[path]; nf {
			if _, isType := k.(*kind.Type); !isType {
				r.c.at(n, path, "must be a finite number")
				return
			}
		}
		r.c.at(n, path, "%s", r.message(k, l.obj, n))
	}
}

// message words one keyword's complaint about node n.
func (r reporter) message(k jsonschema.ErrorKind, obj map[string]any, n *yaml.Node) string {
	switch k := k.(type) {
	case *kind.Type:
		got := nodeType(n)
		msg := "expected " + strings.Join(k.Want, " or ") + ", got " + got
		if len(k.Want) > 0 && k.Want[0] == "string" && (got == "integer" || got == "number" || got == "boolean") {
			msg += " (quote it to make it a string)"
		}
		return msg
	case *kind.Const:
		return "must be " + jsonText(k.Want)
	case *kind.Enum:
		names := make([]string, len(k.Want))
		for i, e := range k.Want {
			names[i] = jsonText(e)
		}
		msg := "must be one of " + strings.Join(names, ", ")
		if obj["writeOnly"] != true && n.Kind == yaml.ScalarNode {
			msg += ", got " + quote(n.Value)
		}
		return msg
	case *kind.MinLength:
		if k.Want == 1 {
			return "must not be empty"
		}
		return fmt.Sprintf("must be at least %d characters long", k.Want)
	case *kind.MaxLength:
		return fmt.Sprintf("must be at most %d characters long (it has %d)", k.Want, k.Got)
	case *kind.Pattern:
		if m, _ := obj["errorMessage"].(string); m != "" {
			return m
		}
		return "must match " + k.Want
	case *kind.Minimum:
		return "must be at least " + ratText(k.Want)
	case *kind.Maximum:
		return "must be at most " + ratText(k.Want)
	case *kind.ExclusiveMinimum:
		return "must be greater than " + ratText(k.Want)
	case *kind.ExclusiveMaximum:
		return "must be less than " + ratText(k.Want)
	case *kind.MinItems:
		return fmt.Sprintf("must have at least %d item(s)", k.Want)
	case *kind.MaxItems:
		return fmt.Sprintf("must have at most %d item(s)", k.Want)
	case *kind.FalseSchema:
		return "is not allowed here"
	}
	// A keyword the schema does not use today: name it, never the value.
	kw := strings.Join(k.KeywordPath(), "/")
	if kw == "" {
		kw = strings.ToLower(strings.TrimPrefix(fmt.Sprintf("%T", k), "*kind."))
	}
	return "does not match the schema (" + kw + ")"
}

// duplicates reports every item of a uniqueItems array that repeats an
// earlier one (the validator names only the first pair).
func (r reporter) duplicates(n *yaml.Node, path string) {
	first := map[string]int{}
	for i, item := range n.Content {
		if item.Kind != yaml.ScalarNode {
			continue
		}
		key := nodeType(item) + "\x00" + item.Value
		if j, dup := first[key]; dup {
			r.c.at(item, joinIndex(path, i), "duplicate item (same as %s)", joinIndex(path, j))
			continue
		}
		first[key] = i
	}
}

func requiredMessage(obj map[string]any, name string) string {
	msg := "required field is missing"
	props, _ := obj["properties"].(map[string]any)
	if p, _ := props[name].(map[string]any); p != nil {
		if d, _ := p["description"].(string); d != "" {
			msg += "; " + lowerFirst(strings.TrimSuffix(d, "."))
		}
	}
	return msg
}

func propertyNames(obj map[string]any) []string {
	props, _ := obj["properties"].(map[string]any)
	names := make([]string, 0, len(props))
	for k := range props {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

func ratText(r *big.Rat) string {
	if r == nil {
		return "?"
	}
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func jsonText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// lowerFirst lower-cases a leading capital unless it starts an acronym
// ("OAuth", "IPv4" stay as they are).
func lowerFirst(s string) string {
	if len(s) < 2 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'a' || s[1] > 'z' {
		return s
	}
	return string(s[0]+'a'-'A') + s[1:]
}
