package fleet

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"

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
