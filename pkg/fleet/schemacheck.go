package fleet

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/quantabase/fleetctl/schema"
)

// fleetSchema is schema/fleet.schema.json, the bytes editors read, compiled
// by a full JSON Schema (draft 2020-12) validator. It is compiled on the
// first Load or Parse, never at start-up: fleetctl version does not pay for
// it. Raw is the same document decoded, read when an error is worded (its
// errorMessage, description and writeOnly keywords, its property names).
type fleetSchema struct {
	compiled *jsonschema.Schema
	raw      any
}

// schemaURL names the embedded schema inside the compiler (its $id).
const schemaURL = "https://github.com/quantabase/fleetctl/schema/fleet.schema.json"

var loadSchema = sync.OnceValues(func() (*fleetSchema, error) {
	return compileWith(schema.JSON, lazyRegexp)
})

// compileSchema compiles any schema document, checking every pattern.
func compileSchema(data []byte) (*fleetSchema, error) { return compileWith(data, nil) }

// compileWith compiles data with the given regexp engine (nil: Go's regexp,
// each pattern compiled at once).
func compileWith(data []byte, engine jsonschema.RegexpEngine) (*fleetSchema, error) {
	raw, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	if engine != nil {
		c.UseRegexpEngine(engine)
	}
	if err := c.AddResource(schemaURL, raw); err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	compiled, err := c.Compile(schemaURL)
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	return &fleetSchema{compiled: compiled, raw: raw}, nil
}

// lazyRegexp defers compiling a schema pattern to the first value matched
// against it: a run pays only for the patterns its fleet.yaml reaches, and
// none is compiled twice (the compiler also compiles each one to check the
// schema against its meta-schema). Only for the embedded schema, which is
// fixed: TestCompileSchema compiles it with the default engine, so every
// pattern in it is known to be a valid regexp.
func lazyRegexp(src string) (jsonschema.Regexp, error) {
	return &lazyRe{src: src}, nil
}

type lazyRe struct {
	src  string
	once sync.Once
	re   *regexp.Regexp
}

func (l *lazyRe) String() string { return l.src }

// MatchString compiles on first use; a pattern that does not compile (never
// the embedded schema's) matches nothing, so the value is refused.
func (l *lazyRe) MatchString(s string) bool {
	l.once.Do(func() { l.re, _ = regexp.Compile(l.src) })
	return l.re != nil && l.re.MatchString(s)
}

// checkSchema validates the expanded tree against the schema and records
// every violation at its YAML node, worded for people (schemaerrors.go).
func checkSchema(c *collector, sch *fleetSchema, tree *yaml.Node) {
	conv := converter{c: c, nonFinite: map[string]*yaml.Node{}}
	inst := conv.value(tree, "")
	err := sch.compiled.Validate(inst)
	if err != nil {
		verr, ok := err.(*jsonschema.ValidationError)
		if !ok {
			c.at(nil, "", "internal error: schema validation: %v", err)
			return
		}
		r := reporter{c: c, sch: sch, root: tree, nonFinite: conv.nonFinite}
		r.report(verr)
	}
	// A non-finite number the schema did not otherwise object to.
	for path, n := range conv.nonFinite {
		if !c.blocked(path) {
			c.at(n, path, "must be a finite number")
		}
	}
}

// converter turns the expanded YAML tree into the JSON value the validator
// checks. Scalars keep their YAML type (a quoted "8081" stays a string).
type converter struct {
	c *collector
	// nonFinite holds .nan and .inf, which JSON cannot hold: they are
	// validated as 0 (so a type error still reads "got number") and
	// reported as not finite.
	nonFinite map[string]*yaml.Node
}

func (cv converter) value(n *yaml.Node, path string) any {
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			m[k] = cv.value(n.Content[i+1], joinKey(path, k))
		}
		return m
	case yaml.SequenceNode:
		a := make([]any, len(n.Content))
		for i, item := range n.Content {
			a[i] = cv.value(item, joinIndex(path, i))
		}
		return a
	case yaml.ScalarNode:
		switch nodeType(n) {
		case "string":
			return n.Value
		case "integer", "number":
			f, ok := numberValue(n)
			if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
				cv.nonFinite[path] = n
				return json.Number("0")
			}
			if i, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
				return json.Number(strconv.FormatInt(i, 10))
			}
			return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
		case "boolean":
			var b bool
			_ = n.Decode(&b)
			return b
		}
	}
	// null, and values the expander already refused (unsupported tags).
	return nil
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

// schemaAt returns the schema object at a JSON pointer into the raw
// document ("" or "/" for the root), or nil.
func (s *fleetSchema) schemaAt(ptr string) map[string]any {
	var v any = s.raw
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		if tok == "" {
			continue
		}
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch cur := v.(type) {
		case map[string]any:
			v = cur[tok]
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(cur) {
				return nil
			}
			v = cur[i]
		default:
			return nil
		}
	}
	m, _ := v.(map[string]any)
	return m
}

// governing lists the pointers of the schema objects that apply to the
// instance at loc, following properties, additionalProperties, items and
// $ref (the applicators fleet.schema.json uses).
func (s *fleetSchema) governing(loc []string) []string {
	cur := s.withRefs("")
	for _, tok := range loc {
		var next []string
		for _, p := range cur {
			m := s.schemaAt(p)
			props, _ := m["properties"].(map[string]any)
			switch {
			case props[tok] != nil:
				next = append(next, s.withRefs(p+"/properties/"+escapeToken(tok))...)
			case isObject(m["additionalProperties"]):
				next = append(next, s.withRefs(p+"/additionalProperties")...)
			}
			if isObject(m["items"]) {
				if _, err := strconv.Atoi(tok); err == nil {
					next = append(next, s.withRefs(p+"/items")...)
				}
			}
		}
		cur = next
	}
	return cur
}

// withRefs returns ptr and the pointers its $ref chain leads to.
func (s *fleetSchema) withRefs(ptr string) []string {
	out := []string{ptr}
	for range 32 { // a $ref cycle in the schema stops here
		ref, ok := s.schemaAt(ptr)["$ref"].(string)
		if !ok || !strings.HasPrefix(ref, "#") {
			break
		}
		ptr = strings.TrimPrefix(ref, "#")
		out = append(out, ptr)
	}
	return out
}

func isObject(v any) bool { _, ok := v.(map[string]any); return ok }

func escapeToken(tok string) string {
	return strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1")
}
