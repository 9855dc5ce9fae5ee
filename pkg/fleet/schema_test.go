package fleet

import (
	"bytes"
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/quantabase/fleetctl/schema"
)

// resolved follows $ref until the schema object that holds the keywords.
func resolved(t *testing.T, sch *fleetSchema, m map[string]any) map[string]any {
	for m != nil {
		ref, ok := m["$ref"].(string)
		if !ok || m["properties"] != nil || m["type"] != nil {
			return m
		}
		next := sch.schemaAt(strings.TrimPrefix(ref, "#"))
		if next == nil {
			t.Fatalf("unresolvable $ref %s", ref)
		}
		m = next
	}
	return m
}

func schemaTypes(m map[string]any) []string {
	switch t := m["type"].(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, x := range t {
			s, _ := x.(string)
			out = append(out, s)
		}
		return out
	}
	return nil
}

// jsonTypeOf is the JSON Schema type a Go field of type t must have.
func jsonTypeOf(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Int, reflect.Int64:
		if t == reflect.TypeOf(Duration(0)) {
			return "string"
		}
		return "integer"
	case reflect.Float64:
		return "number"
	case reflect.Bool:
		return "boolean"
	case reflect.Map, reflect.Struct:
		return "object"
	case reflect.Slice:
		return "array"
	}
	return "?" + t.Kind().String()
}

// yamlFields lists the YAML fields of a struct type, with those of embedded
// (yaml:",inline") structs in place.
func yamlFields(typ reflect.Type) []reflect.StructField {
	var out []reflect.StructField
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		switch {
		case f.Anonymous && name == "" && strings.Contains(opts, "inline"):
			out = append(out, yamlFields(f.Type)...)
		case name != "" && name != "-":
			out = append(out, f)
		}
	}
	return out
}

// TestSchemaMatchesTypes keeps the Go types and the schema in step: every
// yaml field of the types is a schema property of the same JSON type, and
// every schema property is a yaml field.
func TestSchemaMatchesTypes(t *testing.T) {
	sch, err := loadSchema()
	if err != nil {
		t.Fatal(err)
	}
	var walk func(typ reflect.Type, s map[string]any, path string)
	walk = func(typ reflect.Type, s map[string]any, path string) {
		s = resolved(t, sch, s)
		props, _ := s["properties"].(map[string]any)
		fields := map[string]bool{}
		for _, f := range yamlFields(typ) {
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			fields[name] = true
			fp := path + "." + name
			ps, ok := props[name].(map[string]any)
			if !ok {
				t.Errorf("schema lacks %s (Go field %s.%s)", fp, typ.Name(), f.Name)
				continue
			}
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			rs := resolved(t, sch, ps)
			types := schemaTypes(rs)
			if want := jsonTypeOf(ft); !contains(types, want) && !(want == "integer" && contains(types, "number")) {
				t.Errorf("%s: schema type %v, Go type %s wants %s", fp, types, ft, want)
			}
			switch {
			case ft.Kind() == reflect.Struct:
				walk(ft, ps, fp)
			case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
				items, _ := rs["items"].(map[string]any)
				if items == nil {
					t.Errorf("%s: schema array without items", fp)
					continue
				}
				walk(ft.Elem(), items, fp+"[]")
			}
		}
		for name := range props {
			if !fields[name] {
				t.Errorf("schema property %s.%s has no Go field in %s", path, name, typ.Name())
			}
		}
	}
	walk(reflect.TypeOf(Spec{}), sch.schemaAt(""), "")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestSchemaConventions checks the raw schema: draft 2020-12, a description on
// every property and definition, every object closed (additionalProperties
// false, or a value schema for maps), every definition used.
func TestSchemaConventions(t *testing.T) {
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(schema.JSON))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %v", doc["$schema"])
	}
	used := map[string]bool{}
	var walk func(v any, at string)
	walk = func(v any, at string) {
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		if ref, ok := m["$ref"].(string); ok {
			used[strings.TrimPrefix(ref, "#/$defs/")] = true
		}
		if m["type"] == "object" {
			if _, ok := m["additionalProperties"]; !ok {
				t.Errorf("%s: object without additionalProperties", at)
			}
			if ap, ok := m["additionalProperties"].(bool); ok && ap {
				t.Errorf("%s: additionalProperties: true", at)
			}
		}
		if props, ok := m["properties"].(map[string]any); ok {
			for name, p := range props {
				pm, _ := p.(map[string]any)
				if d, _ := pm["description"].(string); d == "" {
					t.Errorf("%s/properties/%s: no description", at, name)
				}
				walk(p, at+"/properties/"+name)
			}
		}
		for _, k := range []string{"items", "additionalProperties", "propertyNames"} {
			walk(m[k], at+"/"+k)
		}
	}
	walk(doc, "#")
	defs, _ := doc["$defs"].(map[string]any)
	var names []string
	for name, d := range defs {
		names = append(names, name)
		dm, _ := d.(map[string]any)
		if desc, _ := dm["description"].(string); desc == "" {
			t.Errorf("$defs/%s: no description", name)
		}
		walk(d, "#/$defs/"+name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !used[name] {
			t.Errorf("$defs/%s is never referenced", name)
		}
	}
}

// The loader refuses a schema that is not valid draft 2020-12 (the
// validator checks it against the meta-schema), and compiles the embedded
// one only when a file is loaded.
func TestCompileSchema(t *testing.T) {
	for _, doc := range []string{
		`{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "minProperties": "two"}`,
		`{"$schema": "https://json-schema.org/draft/2020-12/schema", "$ref": "#/$defs/missing"}`,
		`{"$schema": "https://json-schema.org/draft/2020-12/schema", "pattern": "("}`,
		`not json`,
	} {
		if _, err := compileSchema([]byte(doc)); err == nil {
			t.Errorf("compileSchema(%s) succeeded", doc)
		}
	}
	// Every pattern compiled at once: the loader's lazy engine may trust them.
	if _, err := compileSchema(schema.JSON); err != nil {
		t.Fatalf("embedded schema: %v", err)
	}
	lazy, err := compileWith(schema.JSON, lazyRegexp)
	if err != nil {
		t.Fatalf("embedded schema, lazy patterns: %v", err)
	}
	err = lazy.compiled.Validate(map[string]any{"apiVersion": "fleetctl/v1", "fleet": "Not A Name!"})
	if err == nil || !strings.Contains(err.Error(), "/fleet") || !strings.Contains(err.Error(), "does not match pattern") {
		t.Errorf("the lazily compiled schema did not refuse a fleet name by its pattern: %v", err)
	}
}
