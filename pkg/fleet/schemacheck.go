package fleet

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/quantabase/fleetctl/schema"
)

// schemaNode is one compiled JSON Schema (draft 2020-12) object, restricted to
// the keywords listed in compileSchema. A keyword outside that subset is a
// compile error, so the embedded schema cannot say something the loader would
// silently not enforce.
type schemaNode struct {
	ref         *schemaNode
	refName     string
	types       []string
	properties  map[string]*schemaNode
	required    []string
	closed      bool        // additionalProperties: false
	additional  *schemaNode // additionalProperties: {schema}
	propNames   *schemaNode
	enum        []any
	constVal    any
	hasConst    bool
	pattern     *regexp.Regexp
	errMessage  string // errorMessage: replaces the message of a failed pattern
	min, max    *float64
	exclMin     *float64
	exclMax     *float64
	minLen      *int
	maxLen      *int
	items       *schemaNode
	minItems    *int
	maxItems    *int
	uniqueItems bool
	description string
	writeOnly   bool // a secret: its value is never echoed
}

// fleetSchema is compiled once from the embedded bytes and never modified.
var fleetSchema = sync.OnceValues(func() (*schemaNode, error) {
	return compileSchema(schema.JSON)
})

// compileSchema parses a schema document and resolves its "#/$defs/..." refs.
func compileSchema(data []byte) (*schemaNode, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	sc := &schemaCompiler{defs: map[string]*schemaNode{}, raw: map[string]map[string]any{}}
	if d, ok := doc["$defs"].(map[string]any); ok {
		for name, v := range d {
			m, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("schema: $defs/%s is not an object", name)
			}
			sc.raw[name] = m
			sc.defs[name] = &schemaNode{}
		}
	}
	for name, m := range sc.raw {
		if err := sc.fill(sc.defs[name], m, "#/$defs/"+name); err != nil {
			return nil, err
		}
	}
	root := &schemaNode{}
	if err := sc.fill(root, doc, "#"); err != nil {
		return nil, err
	}
	return root, nil
}

type schemaCompiler struct {
	defs map[string]*schemaNode
	raw  map[string]map[string]any
}

func (sc *schemaCompiler) node(v any, at string) (*schemaNode, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("schema %s: expected an object", at)
	}
	n := &schemaNode{}
	return n, sc.fill(n, m, at)
}

// fill compiles the keywords of m into n.
func (sc *schemaCompiler) fill(n *schemaNode, m map[string]any, at string) error {
	var err error
	num := func(k string) *float64 {
		v, ok := m[k]
		if !ok || err != nil {
			return nil
		}
		jn, ok := v.(json.Number)
		f, ferr := jn.Float64()
		if !ok || ferr != nil {
			err = fmt.Errorf("schema %s/%s: not a number", at, k)
			return nil
		}
		return &f
	}
	count := func(k string) *int {
		f := num(k)
		if f == nil {
			return nil
		}
		i := int(*f)
		return &i
	}
	str := func(k string) string {
		s, _ := m[k].(string)
		return s
	}
	for k, v := range m {
		switch k {
		case "$schema", "$id", "$comment", "title", "default", "examples", "$defs":
		case "description":
			n.description = str(k)
		case "writeOnly":
			n.writeOnly = v == true
		case "$ref":
			name, ok := strings.CutPrefix(str(k), "#/$defs/")
			if n.ref = sc.defs[name]; !ok || n.ref == nil {
				return fmt.Errorf("schema %s: unresolvable $ref %v", at, v)
			}
			n.refName = name
		case "type":
			switch t := v.(type) {
			case string:
				n.types = []string{t}
			case []any:
				for _, x := range t {
					s, _ := x.(string)
					n.types = append(n.types, s)
				}
			}
		case "properties":
			props, _ := v.(map[string]any)
			n.properties = map[string]*schemaNode{}
			for name, pv := range props {
				if n.properties[name], err = sc.node(pv, at+"/properties/"+name); err != nil {
					return err
				}
			}
		case "required":
			list, _ := v.([]any)
			for _, x := range list {
				s, _ := x.(string)
				n.required = append(n.required, s)
			}
		case "additionalProperties":
			if b, ok := v.(bool); ok {
				n.closed = !b
			} else if n.additional, err = sc.node(v, at+"/additionalProperties"); err != nil {
				return err
			}
		case "propertyNames":
			if n.propNames, err = sc.node(v, at+"/propertyNames"); err != nil {
				return err
			}
		case "items":
			if n.items, err = sc.node(v, at+"/items"); err != nil {
				return err
			}
		case "enum":
			list, _ := v.([]any)
			n.enum = list
		case "const":
			n.constVal, n.hasConst = v, true
		case "pattern":
			if n.pattern, err = regexp.Compile(str(k)); err != nil {
				return fmt.Errorf("schema %s/pattern: %w", at, err)
			}
		case "errorMessage":
			n.errMessage = str(k)
		case "minimum":
			n.min = num(k)
		case "maximum":
			n.max = num(k)
		case "exclusiveMinimum":
			n.exclMin = num(k)
		case "exclusiveMaximum":
			n.exclMax = num(k)
		case "minLength":
			n.minLen = count(k)
		case "maxLength":
			n.maxLen = count(k)
		case "minItems":
			n.minItems = count(k)
		case "maxItems":
			n.maxItems = count(k)
		case "uniqueItems":
			n.uniqueItems = v == true
		default:
			return fmt.Errorf("schema %s: keyword %q is not supported by the loader", at, k)
		}
	}
	return err
}

// schemaChecker enforces a compiled schema on an expanded yaml.Node tree.
type schemaChecker struct{ c *collector }

// check validates n (at field path) against s and everything s refers to.
func (sc schemaChecker) check(s *schemaNode, n *yaml.Node, path string) {
	if sc.c.bad[path] {
		return // already reported while expanding
	}
	if s.ref != nil {
		sc.check(s.ref, n, path)
		if sc.c.bad[path] {
			return
		}
	}
	kind := nodeType(n)
	if len(s.types) > 0 && !typeAllowed(s.types, kind) {
		msg := fmt.Sprintf("expected %s, got %s", strings.Join(s.types, " or "), kind)
		if s.types[0] == "string" && (kind == "integer" || kind == "number" || kind == "boolean") {
			msg += " (quote it to make it a string)"
		}
		sc.c.at(n, path, "%s", msg)
		return
	}
	if s.hasConst && !jsonEqual(s.constVal, n) {
		sc.c.at(n, path, "must be %s", jsonText(s.constVal))
		return
	}
	if len(s.enum) > 0 && !sc.inEnum(s.enum, n) {
		names := make([]string, len(s.enum))
		for i, e := range s.enum {
			names[i] = jsonText(e)
		}
		msg := "must be one of " + strings.Join(names, ", ")
		if !s.writeOnly && n.Kind == yaml.ScalarNode {
			msg += ", got " + quote(n.Value)
		}
		sc.c.at(n, path, "%s", msg)
		return
	}
	switch kind {
	case "string":
		sc.checkString(s, n, path)
	case "integer", "number":
		sc.checkNumber(s, n, path)
	case "object":
		sc.checkObject(s, n, path)
	case "array":
		sc.checkArray(s, n, path)
	}
}

func (sc schemaChecker) checkString(s *schemaNode, n *yaml.Node, path string) {
	runes := utf8.RuneCountInString(n.Value)
	switch {
	case s.minLen != nil && runes < *s.minLen:
		if *s.minLen == 1 {
			sc.c.at(n, path, "must not be empty")
		} else {
			sc.c.at(n, path, "must be at least %d characters long", *s.minLen)
		}
	case s.maxLen != nil && runes > *s.maxLen:
		sc.c.at(n, path, "must be at most %d characters long (it has %d)", *s.maxLen, runes)
	case s.pattern != nil && !s.pattern.MatchString(n.Value):
		if s.errMessage != "" {
			sc.c.at(n, path, "%s", s.errMessage)
		} else {
			sc.c.at(n, path, "must match %s", s.pattern)
		}
	}
}

func (sc schemaChecker) checkNumber(s *schemaNode, n *yaml.Node, path string) {
	f, ok := numberValue(n)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
		sc.c.at(n, path, "must be a finite number")
		return
	}
	switch {
	case s.min != nil && f < *s.min:
		sc.c.at(n, path, "must be at least %v", *s.min)
	case s.max != nil && f > *s.max:
		sc.c.at(n, path, "must be at most %v", *s.max)
	case s.exclMin != nil && f <= *s.exclMin:
		sc.c.at(n, path, "must be greater than %v", *s.exclMin)
	case s.exclMax != nil && f >= *s.exclMax:
		sc.c.at(n, path, "must be less than %v", *s.exclMax)
	}
}

func (sc schemaChecker) checkObject(s *schemaNode, n *yaml.Node, path string) {
	present := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		present[k.Value] = true
		kpath := joinKey(path, k.Value)
		if s.propNames != nil {
			key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k.Value, Line: k.Line, Column: k.Column}
			sc.check(s.propNames, key, kpath)
			if sc.c.bad[kpath] {
				continue
			}
		}
		switch ps, ok := s.properties[k.Value]; {
		case ok:
			sc.check(ps, v, kpath)
		case s.additional != nil:
			sc.check(s.additional, v, kpath)
		case s.closed:
			sc.c.at(k, kpath, "%s", unknownField(k.Value, s.propertyNames()))
		}
	}
	for _, r := range s.required {
		if present[r] {
			continue
		}
		msg := "required field is missing"
		if ps := s.properties[r]; ps != nil && ps.description != "" {
			msg += "; " + lowerFirst(strings.TrimSuffix(ps.description, "."))
		}
		sc.c.at(n, joinKey(path, r), "%s", msg)
	}
}

func (sc schemaChecker) checkArray(s *schemaNode, n *yaml.Node, path string) {
	switch {
	case s.minItems != nil && len(n.Content) < *s.minItems:
		sc.c.at(n, path, "must have at least %d item(s)", *s.minItems)
	case s.maxItems != nil && len(n.Content) > *s.maxItems:
		sc.c.at(n, path, "must have at most %d item(s)", *s.maxItems)
	}
	first := map[string]int{}
	for i, item := range n.Content {
		ipath := joinIndex(path, i)
		if s.items != nil {
			sc.check(s.items, item, ipath)
		}
		if s.uniqueItems && item.Kind == yaml.ScalarNode {
			key := nodeType(item) + "\x00" + item.Value
			if j, dup := first[key]; dup {
				sc.c.at(item, ipath, "duplicate item (same as %s)", joinIndex(path, j))
				continue
			}
			first[key] = i
		}
	}
}

func (s *schemaNode) propertyNames() []string {
	names := make([]string, 0, len(s.properties))
	for k := range s.properties {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

func (sc schemaChecker) inEnum(enum []any, n *yaml.Node) bool {
	for _, e := range enum {
		if jsonEqual(e, n) {
			return true
		}
	}
	return false
}

// numberValue reads an !!int or !!float scalar. Plain decimals are parsed
// directly; other spellings (0x1F, 0o17, .inf) go through the YAML decoder,
// which is what decodes the Spec.
func numberValue(n *yaml.Node) (float64, bool) {
	if f, err := strconv.ParseFloat(n.Value, 64); err == nil {
		return f, true
	}
	var f float64
	return f, n.Decode(&f) == nil
}

// nodeType maps a YAML node to its JSON Schema type.
func nodeType(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "object"
	case yaml.SequenceNode:
		return "array"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str", "!!timestamp":
			return "string"
		case "!!int":
			return "integer"
		case "!!float":
			return "number"
		case "!!bool":
			return "boolean"
		case "!!null":
			return "null"
		}
	}
	return "unsupported value"
}

func typeAllowed(types []string, kind string) bool {
	for _, t := range types {
		if t == kind || (t == "number" && kind == "integer") {
			return true
		}
	}
	return false
}

// jsonEqual compares a JSON value from the schema with a scalar node.
func jsonEqual(v any, n *yaml.Node) bool {
	if n.Kind != yaml.ScalarNode {
		return false
	}
	switch v := v.(type) {
	case string:
		return nodeType(n) == "string" && n.Value == v
	case bool:
		var b bool
		return nodeType(n) == "boolean" && n.Decode(&b) == nil && b == v
	case json.Number:
		want, err1 := v.Float64()
		t := nodeType(n)
		got, ok := numberValue(n)
		return err1 == nil && (t == "integer" || t == "number") && ok && got == want
	case nil:
		return nodeType(n) == "null"
	}
	return false
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
