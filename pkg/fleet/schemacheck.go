package fleet

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

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
