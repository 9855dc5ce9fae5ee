package fleet

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// Keys that break propertyNames are reported at each key, however many
// mappings share the bad key (the validator's own location for them is not
// trustworthy, see keyOwners).
func TestSchemaKeyErrorsLocated(t *testing.T) {
	in := "apiVersion: fleetctl/v1\nfleet: test\nsecretKeySeed: ${env:SEED}\n" +
		"defaults:\n  env: {\"BAD KEY\": x, GOOD: y}\n" + // line 5
		"clients:\n" +
		"  - name: a\n    port: 8081\n    env: {\"BAD KEY\": x, 9LIVES: y}\n" + // line 9
		"  - name: b\n    port: 8082\n    env:\n      \"BAD KEY\": x\n" // line 13
	_, err := Parse([]byte(in), "f.yaml")
	if err == nil {
		t.Fatal("accepted")
	}
	want := []string{
		`f.yaml:5:9: defaults.env["BAD KEY"]: must be an environment variable name`,
		`f.yaml:9:11: clients[0].env["BAD KEY"]: must be an environment variable name`,
		`f.yaml:9:25: clients[0].env.9LIVES: must be an environment variable name`,
		`f.yaml:13:7: clients[1].env["BAD KEY"]: must be an environment variable name`,
	}
	got := err.Error()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in:\n%s", w, got)
		}
	}
	if n := strings.Count(got, "\n") + 1; n != len(want) {
		t.Errorf("%d diagnostics, want %d:\n%s", n, len(want), got)
	}
}

func TestSchemaEveryDuplicateItem(t *testing.T) {
	in := hdr + one + "    oauth:\n      google: {clientID: x, clientSecret: \"${env:S}\"}\n" +
		"      allowedDomains: [a.com, b.com, a.com, b.com]\n"
	_, err := Parse([]byte(in), "f.yaml")
	for _, w := range []string{
		"clients[0].oauth.allowedDomains[2]: duplicate item (same as clients[0].oauth.allowedDomains[0])",
		"clients[0].oauth.allowedDomains[3]: duplicate item (same as clients[0].oauth.allowedDomains[1])",
	} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("missing %q in %v", w, err)
		}
	}
}

// The whole specification is enforced, not a subset: a keyword the loader
// has no wording for is still checked, reported at its node by keyword and
// never by value.
func TestSchemaFullSpecification(t *testing.T) {
	sch, err := compileSchema([]byte(`{
		"$schema": "https://json-schema.org/draft/2020-12/schema",
		"type": "object",
		"properties": {
			"mode": {"type": "string"},
			"port": {"type": "integer"},
			"token": {"type": "string", "writeOnly": true, "not": {"const": "Sekr1t-Distinct"}}
		},
		"if": {"properties": {"mode": {"const": "tls"}}, "required": ["mode"]},
		"then": {"properties": {"port": {"multipleOf": 443}}}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte("mode: tls\nport: 8080\ntoken: Sekr1t-Distinct\n"), &doc); err != nil {
		t.Fatal(err)
	}
	c := newCollector("s.yaml")
	checkSchema(c, sch, doc.Content[0])
	got := c.result().Error()
	for _, w := range []string{"s.yaml:2:7: port: does not match the schema (multipleOf)", "s.yaml:3:8: token: does not match the schema (not)"} {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in:\n%s", w, got)
		}
	}
	if strings.Contains(got, "Sekr1t-Distinct") {
		t.Errorf("a value is echoed:\n%s", got)
	}
}
