package fleet

import (
	"errors"
	"strings"
	"testing"
)

// hdr is a valid fleet up to "clients:" (lines 1-4); cases append clients
// from line 5 on, so a client's "name" key is at 5:5 and its value at 5:11.
const hdr = "apiVersion: fleetctl/v1\nfleet: test\nsecretKeySeed: ${env:SEED}\nclients:\n"

// one is a valid client on lines 5-6.
const one = "  - name: a\n    port: 8081\n"

// billionLaughs expands to 10^9 strings from under 300 bytes.
const billionLaughs = `a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h,*h]
`

func TestParseBad(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   []string // rendered diagnostics that must appear
		absent []string // text that must not appear (secrets)
		count  int      // exact number of diagnostics, when non-zero
	}{
		// Unknown keys and types.
		{name: "unknown key with suggestion", in: hdr + "  - name: a\n    prot: 8081\n",
			want: []string{`f.yaml:6:5: clients[0].prot: unknown field; did you mean "port"?`}},
		{name: "unknown key wrong case", in: hdr + one + "    displayname: A\n",
			want: []string{`f.yaml:7:5: clients[0].displayname: unknown field; did you mean "displayName"?`}, count: 1},
		{name: "unknown key lists allowed fields", in: "zzz: 1\n" + hdr + one,
			want: []string{`f.yaml:1:1: zzz: unknown field; allowed: apiVersion, clients, defaults, fleet, proxy, prune, secretKeySeed`}},
		{name: "port as string", in: hdr + "  - name: a\n    port: \"8081\"\n",
			want: []string{`f.yaml:6:11: clients[0].port: expected integer, got string`}},
		{name: "port as float", in: hdr + "  - name: a\n    port: 8081.5\n",
			want: []string{`f.yaml:6:11: clients[0].port: expected integer, got number`}},
		{name: "displayName as integer", in: hdr + one + "    displayName: 123\n",
			want: []string{`f.yaml:7:18: clients[0].displayName: expected string, got integer (quote it to make it a string)`}},
		{name: "env value as boolean", in: hdr + one + "    env:\n      FOO: true\n",
			want: []string{`f.yaml:8:12: clients[0].env.FOO: expected string, got boolean (quote it to make it a string)`}},
		{name: "prune yes is not a boolean", in: "prune: yes\n" + hdr + one,
			want: []string{`f.yaml:1:8: prune: expected boolean, got string`}},
		{name: "clients not a list", in: "apiVersion: fleetctl/v1\nfleet: test\nsecretKeySeed: ${env:SEED}\nclients: {}\n",
			want: []string{`f.yaml:4:10: clients: expected array, got object`}},
		{name: "null fleet", in: "apiVersion: fleetctl/v1\nfleet:\nsecretKeySeed: ${env:SEED}\nclients: []\n",
			want: []string{`f.yaml:2:7: fleet: expected string, got null`}},

		// Uniqueness: the error is on the second use and names the first.
		{name: "duplicate names", in: hdr + one + "  - name: a\n    port: 8082\n",
			want: []string{`f.yaml:7:11: clients[1].name: duplicate client name "a", already used by clients[0] (a, line 5)`}, count: 1},
		{name: "duplicate ports", in: hdr + one + "  - name: b\n    port: 8081\n",
			want: []string{`f.yaml:8:11: clients[1].port: port 8081 is already used by clients[0] (a, line 6)`}, count: 1},
		{name: "duplicate domains", in: hdr + one + "    domain: a.example.com\n  - name: b\n    port: 8082\n    domain: a.example.com\n",
			want: []string{`f.yaml:10:13: clients[1].domain: domain "a.example.com" is already used by clients[0] (a, line 7)`}, count: 1},

		// Names.
		{name: "name with underscore", in: hdr + "  - name: a_b\n    port: 8081\n",
			want: []string{`f.yaml:5:11: clients[0].name: must be a DNS label: lower-case letters, digits and '-'`}},
		{name: "name upper case", in: hdr + "  - name: Acme\n    port: 8081\n",
			want: []string{`f.yaml:5:11: clients[0].name: must be a DNS label`}},
		{name: "name too long", in: hdr + "  - name: " + strings.Repeat("a", 64) + "\n    port: 8081\n",
			want: []string{`f.yaml:5:11: clients[0].name: must be at most 63 characters long (it has 64)`}},
		{name: "name leading dash", in: hdr + "  - name: -a\n    port: 8081\n",
			want: []string{`f.yaml:5:11: clients[0].name: must be a DNS label`}},
		{name: "name with brace", in: hdr + "  - name: \"a{b}\"\n    port: 8081\n",
			want: []string{`f.yaml:5:11: clients[0].name: must be a DNS label`}},
		{name: "fleet upper case", in: "apiVersion: fleetctl/v1\nfleet: QB\nsecretKeySeed: ${env:SEED}\nclients: []\n",
			want: []string{`f.yaml:2:8: fleet: must be a DNS label`}},

		// Ports.
		{name: "port 80", in: hdr + "  - name: a\n    port: 80\n",
			want: []string{`f.yaml:6:11: clients[0].port: must be at least 1024`}},
		{name: "port 70000", in: hdr + "  - name: a\n    port: 70000\n",
			want: []string{`f.yaml:6:11: clients[0].port: must be at most 65535`}},
		{name: "missing port", in: hdr + "  - name: a\n",
			want: []string{`f.yaml:5:5: clients[0].port: required field is missing; host port the client is published on`}},

		// Domains.
		{name: "domain without dot", in: hdr + one + "    domain: acme\n",
			want: []string{`f.yaml:7:13: clients[0].domain: must be a lower-case host name such as app.example.com`}},
		{name: "domain upper case", in: hdr + one + "    domain: Acme.example.com\n",
			want: []string{`f.yaml:7:13: clients[0].domain: must be a lower-case host name`}},
		{name: "domain with semicolon", in: hdr + one + "    domain: \"a.com;rm -rf /\"\n",
			want: []string{`f.yaml:7:13: clients[0].domain: must be a lower-case host name`}},
		{name: "domain with brace", in: hdr + one + "    domain: \"a{b}.com\"\n",
			want: []string{`f.yaml:7:13: clients[0].domain: must be a lower-case host name`}},
		{name: "domain label too long", in: hdr + one + "    domain: " + strings.Repeat("x", 64) + ".com\n",
			want: []string{`f.yaml:7:13: clients[0].domain: must be a lower-case host name`}},
		{name: "domain label ends with dash", in: hdr + one + "    domain: a-.example.com\n",
			want: []string{`f.yaml:7:13: clients[0].domain: must be a lower-case host name`}},

		// displayName.
		{name: "displayName with newline", in: hdr + one + "    displayName: \"ACME\\nCorp\"\n",
			want: []string{`f.yaml:7:18: clients[0].displayName: must not contain control characters`}},
		{name: "displayName with quote", in: hdr + one + "    displayName: Joe's Diner\n",
			want: []string{"f.yaml:7:18: clients[0].displayName: must not contain control characters (newline, tab, bidirectional overrides, ...) or any of \" ' ` ; { } \\ $ < >"}},
		{name: "displayName with dollar", in: hdr + one + "    displayName: \"$(reboot)\"\n",
			want: []string{`f.yaml:7:18: clients[0].displayName: must not contain`}},
		{name: "displayName with bidi override", in: hdr + one + "    displayName: \"abc\u202edef\"\n",
			want: []string{`f.yaml:7:18: clients[0].displayName: must not contain control characters`}},
		{name: "displayName too long", in: hdr + one + "    displayName: " + strings.Repeat("é", 65) + "\n",
			want: []string{`f.yaml:7:18: clients[0].displayName: must be at most 64 characters long (it has 65)`}},

		// Secrets.
		{name: "literal seed", in: "apiVersion: fleetctl/v1\nfleet: test\nsecretKeySeed: hunter2-s3cret\nclients: []\n",
			want:   []string{`f.yaml:3:16: secretKeySeed: a secret must be a reference, never a literal: use ${env:NAME} or ${file:PATH}`},
			absent: []string{"hunter2-s3cret"}},
		{name: "literal oauth client secret",
			in: "apiVersion: fleetctl/v1\nfleet: test\nsecretKeySeed: ${env:SEED}\ndefaults:\n  oauth:\n    google:\n" +
				"      clientID: abc.apps.googleusercontent.com\n      clientSecret: GOCSPX-topsecret\nclients: []\n",
			want:   []string{`f.yaml:8:21: defaults.oauth.google.clientSecret: a secret must be a reference, never a literal`},
			absent: []string{"GOCSPX-topsecret"}},
		{name: "literal database url", in: hdr + one + "    database:\n      backend: postgres\n      url: postgres://u:pw0rd@h/db\n",
			want:   []string{`f.yaml:9:12: clients[0].database.url: a secret must be a reference, never a literal`},
			absent: []string{"pw0rd"}},
		{name: "literal client secretKey", in: hdr + one + "    secretKey: 0123456789abcdef\n",
			want:   []string{`f.yaml:7:16: clients[0].secretKey: a secret must be a reference`},
			absent: []string{"0123456789abcdef"}},
		{name: "secret as number", in: hdr + one + "    secretKey: 123456789\n",
			want:   []string{`f.yaml:7:16: clients[0].secretKey: expected string, got integer`},
			absent: []string{"123456789"}},
		{name: "missing seed", in: "apiVersion: fleetctl/v1\nfleet: test\nclients: []\n",
			want: []string{"f.yaml:1:1: secretKeySeed: required field is missing; secret reference to a random seed",
				"`openssl rand -hex 32 > fleet.seed`", "`secretKeySeed: ${file:./fleet.seed}`"}},
		{name: "oauth without client secret",
			in:   "apiVersion: fleetctl/v1\nfleet: test\nsecretKeySeed: ${env:SEED}\ndefaults:\n  oauth:\n    google:\n      clientID: abc\nclients: []\n",
			want: []string{`f.yaml:7:7: defaults.oauth.google.clientSecret: required field is missing`}},
		{name: "oauth duplicate allowed domain", in: hdr + one + "    oauth:\n      google: {clientID: x, clientSecret: \"${env:S}\"}\n      allowedDomains: [a.com, b.com, a.com]\n",
			want: []string{`f.yaml:9:38: clients[0].oauth.allowedDomains[2]: duplicate item (same as clients[0].oauth.allowedDomains[0])`}},

		// Top-level fields.
		{name: "bad apiVersion", in: "apiVersion: fleetctl/v2\nfleet: test\nsecretKeySeed: ${env:SEED}\nclients: []\n",
			want: []string{`f.yaml:1:13: apiVersion: must be fleetctl/v1`}},
		{name: "missing fleet", in: "apiVersion: fleetctl/v1\nsecretKeySeed: ${env:SEED}\nclients: []\n",
			want: []string{`f.yaml:1:1: fleet: required field is missing; fleet name (a DNS label)`}, count: 1},

		// Database.
		{name: "postgres without url", in: hdr + one + "    database:\n      backend: postgres\n",
			want: []string{`f.yaml:8:7: clients[0].database.url: backend postgres requires url, a secret reference`}},
		{name: "sqlite with url", in: hdr + one + "    database:\n      backend: sqlite\n      url: ${env:DB}\n",
			want: []string{`f.yaml:9:12: clients[0].database.url: url is only used with backend: postgres`}},
		{name: "default backend with url", in: hdr + one + "    database: {url: \"${env:DB}\"}\n",
			want: []string{`f.yaml:7:21: clients[0].database.url: url is only used with backend: postgres`}},
		{name: "bad backend", in: hdr + one + "    database: {backend: mysql}\n",
			want: []string{`f.yaml:7:25: clients[0].database.backend: must be one of sqlite, postgres, got "mysql"`}, count: 1},

		// Env.
		{name: "env half-written secret reference", in: hdr + one + "    env:\n      API_KEY: ${vault:api}\n",
			want: []string{`f.yaml:8:16: clients[0].env.API_KEY: looks like a secret reference but is not one: use exactly ${env:NAME} or ${file:PATH}`}},
		{name: "env key managed by fleetctl", in: hdr + one + "    env:\n      WEBUI_NAME: Acme\n",
			want: []string{`f.yaml:8:7: clients[0].env.WEBUI_NAME: WEBUI_NAME is set by fleetctl from displayName; remove it from env`}},
		{name: "defaults env DATABASE_URL", in: "apiVersion: fleetctl/v1\nfleet: test\nsecretKeySeed: ${env:SEED}\ndefaults:\n  env: {DATABASE_URL: x}\nclients: []\n",
			want: []string{`f.yaml:5:9: defaults.env.DATABASE_URL: DATABASE_URL is set by fleetctl from database.url`}},
		{name: "env PORT", in: hdr + one + "    env: {PORT: \"9000\"}\n",
			want: []string{`f.yaml:7:11: clients[0].env.PORT: PORT is set by fleetctl from port`}},
		{name: "env key with space", in: hdr + one + "    env:\n      \"FOO BAR\": x\n",
			want: []string{`f.yaml:8:7: clients[0].env["FOO BAR"]: must be an environment variable name`}},
		{name: "env key starting with digit", in: hdr + one + "    env:\n      1FOO: x\n",
			want: []string{`f.yaml:8:7: clients[0].env.1FOO: must be an environment variable name`}},
		{name: "env value with newline", in: hdr + one + "    env:\n      FOO: \"a\\nb\"\n",
			want: []string{`f.yaml:8:12: clients[0].env.FOO: must not contain control characters`}},

		{name: "env value with C1 control", in: hdr + one + "    env: {FOO: \"a\\x85b\"}\n",
			want: []string{`f.yaml:7:16: clients[0].env.FOO: must not contain control characters`}},

		// Image and enums.
		{name: "image with shell", in: hdr + one + "    image: \"ubuntu; rm -rf /\"\n",
			want: []string{`f.yaml:7:12: clients[0].image: must be an image reference such as ghcr.io/open-webui/open-webui:main`}},
		{name: "image upper case repo", in: hdr + one + "    image: Ubuntu:latest\n",
			want: []string{`f.yaml:7:12: clients[0].image: must be an image reference`}},
		{name: "image short digest", in: hdr + one + "    image: ubuntu@sha256:abc\n",
			want: []string{`f.yaml:7:12: clients[0].image: must be an image reference`}},
		{name: "bad pullPolicy", in: hdr + one + "    pullPolicy: sometimes\n",
			want: []string{`f.yaml:7:17: clients[0].pullPolicy: must be one of always, if-not-present, never, got "sometimes"`}},
		{name: "bad state", in: hdr + one + "    state: paused\n",
			want: []string{`f.yaml:7:12: clients[0].state: must be one of running, stopped, got "paused"`}},
		{name: "bad restartPolicy", in: hdr + one + "    restartPolicy: sometimes\n",
			want: []string{`f.yaml:7:20: clients[0].restartPolicy: must be one of no, always, unless-stopped, on-failure`}},
		{name: "bindAddress bad octet", in: hdr + one + "    bindAddress: 999.1.1.1\n",
			want: []string{`f.yaml:7:18: clients[0].bindAddress: must be an IPv4 or IPv6 address such as 127.0.0.1 or ::1`}, count: 1},
		{name: "bindAddress host name", in: hdr + one + "    bindAddress: localhost\n",
			want: []string{`f.yaml:7:18: clients[0].bindAddress: must be an IPv4 or IPv6 address`}, count: 1},

		// Resources, health checks, naming.
		{name: "cpus zero", in: hdr + one + "    resources: {cpus: 0}\n",
			want: []string{`f.yaml:7:23: clients[0].resources.cpus: must be greater than 0`}},
		{name: "cpus NaN", in: hdr + one + "    resources: {cpus: .nan}\n",
			want: []string{`f.yaml:7:23: clients[0].resources.cpus: must be a finite number`}},
		{name: "memory too small", in: hdr + one + "    resources: {memory: 1k}\n",
			want: []string{`f.yaml:7:25: clients[0].resources.memory: must be at least 6m (Docker's minimum)`}},
		{name: "memory not a size", in: hdr + one + "    resources: {memory: 2 gigs}\n",
			want: []string{`f.yaml:7:25: clients[0].resources.memory: must be a size such as 512m or 2g`}},
		{name: "memory overflow", in: hdr + one + "    resources: {memory: 99999999999999999g}\n",
			want: []string{`f.yaml:7:25: clients[0].resources.memory: memory limit is too large`}},
		{name: "health timeout too short", in: hdr + one + "    healthCheck: {timeout: 500ms}\n",
			want: []string{`f.yaml:7:28: clients[0].healthCheck.timeout: must be between 1s and 1h`}},
		{name: "health timeout not a duration", in: hdr + one + "    healthCheck: {timeout: 2 minutes}\n",
			want: []string{`f.yaml:7:28: clients[0].healthCheck.timeout: must be a duration such as 500ms, 90s or 2m`}},
		{name: "health interval longer than timeout", in: hdr + one + "    healthCheck: {timeout: 5s, interval: 9s}\n",
			want: []string{`f.yaml:7:42: clients[0].healthCheck.interval: must not be longer than timeout (5s)`}},
		{name: "health path relative", in: hdr + one + "    healthCheck: {path: health}\n",
			want: []string{`f.yaml:7:25: clients[0].healthCheck.path: must be a URL path starting with '/'`}},
		{name: "health path with space", in: hdr + one + "    healthCheck: {path: \"/a b\"}\n",
			want: []string{`f.yaml:7:25: clients[0].healthCheck.path: must be a URL path`}},
		{name: "naming without client", in: "apiVersion: fleetctl/v1\nfleet: test\nsecretKeySeed: ${env:SEED}\ndefaults:\n  naming: {container: \"ow-{fleet}\"}\nclients: []\n",
			want: []string{`f.yaml:5:23: defaults.naming.container: must contain {client}, so every client gets its own name`}},
		{name: "naming unknown placeholder", in: "apiVersion: fleetctl/v1\nfleet: test\nsecretKeySeed: ${env:SEED}\ndefaults:\n  naming: {volume: \"{client}-{id}\"}\nclients: []\n",
			want: []string{`f.yaml:5:20: defaults.naming.volume: must expand to a Docker name`}},

		// Hostile or malformed YAML.
		{name: "billion laughs", in: billionLaughs,
			want: []string{`: too many alias expansions`}, count: 1},
		{name: "self-referencing anchor", in: "a: &a [*a]\n",
			want: []string{`f.yaml:1:8: a[0]`, `too many alias expansions: aliases nested more than 32 deep`}, count: 1},
		{name: "merge key cycle", in: "a: &a\n  <<: *a\n",
			want: []string{`f.yaml:2:7: a: too many alias expansions`}, count: 1},
		{name: "nesting too deep", in: "a: " + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "\n",
			want: []string{`nested more than 64 levels deep`}, count: 1},
		{name: "duplicate key", in: "apiVersion: fleetctl/v1\nfleet: a\nfleet: b\nsecretKeySeed: ${env:SEED}\nclients: []\n",
			want: []string{`f.yaml:3:1: fleet: duplicate key (first defined at line 2)`}, count: 1},
		{name: "duplicate key in client", in: hdr + one + "    port: 8082\n",
			want: []string{`f.yaml:7:5: clients[0].port: duplicate key (first defined at line 6)`}, count: 1},
		{name: "non-string key", in: "? [a]\n: b\n" + hdr + one,
			want: []string{`f.yaml:1:3: mapping keys must be plain strings`}},
		{name: "multiple documents", in: hdr + one + "---\n" + hdr + one,
			want: []string{`f.yaml:8:1: more than one YAML document (---): a fleet file holds exactly one`}, count: 1},
		{name: "empty file", in: "",
			want: []string{`f.yaml:1:1: file is empty`}, count: 1},
		{name: "only comments", in: "# nothing here\n\n",
			want: []string{`f.yaml:1:1: file is empty`}, count: 1},
		{name: "empty document", in: "---\n",
			want: []string{`f.yaml:2:1: document is empty`}, count: 1},
		{name: "root is a list", in: "- name: a\n  port: 8081\n",
			want: []string{`f.yaml:1:1: the top level must be a mapping with the fleet's fields (apiVersion, fleet, secretKeySeed, defaults, clients), got array`}, count: 1},
		{name: "root is a scalar", in: "hello\n",
			want: []string{`f.yaml:1:1: the top level must be a mapping`}, count: 1},
		{name: "syntax error", in: "apiVersion: fleetctl/v1\nfleet: test\n  bad: indent\n",
			want: []string{`f.yaml:3: invalid YAML: mapping values are not allowed in this context`}, count: 1},
		{name: "tab indentation", in: "apiVersion: fleetctl/v1\nclients:\n\t- name: a\n",
			want: []string{`f.yaml:3: invalid YAML: found character that cannot start any token`}, count: 1},
		{name: "binary tag", in: hdr + one + "    displayName: !!binary QUNNRQ==\n",
			want: []string{`f.yaml:7:18: clients[0].displayName: unsupported YAML tag "!!binary"`}, count: 1},
		{name: "custom tag", in: "apiVersion: fleetctl/v1\nfleet: !vault test\nsecretKeySeed: ${env:SEED}\nclients: []\n",
			want: []string{`f.yaml:2:8: fleet: unsupported YAML tag "!vault"`}, count: 1},

		// Everything is reported in one run, in file order.
		{name: "several errors at once",
			in: "apiVersion: fleetctl/v1\nfleet: Test\nsecretKeySeed: s3cr3t-value\nclients:\n" +
				"  - name: a\n    port: 80\n    domain: \"x;y\"\n" +
				"  - name: a\n    port: 8082\n    env: {WEBUI_URL: x}\n",
			want: []string{
				"f.yaml:2:8: fleet: must be a DNS label",
				"f.yaml:3:16: secretKeySeed: a secret must be a reference",
				"f.yaml:6:11: clients[0].port: must be at least 1024",
				"f.yaml:7:13: clients[0].domain: must be a lower-case host name",
				"f.yaml:8:11: clients[1].name: duplicate client name \"a\", already used by clients[0] (a, line 5)",
				"f.yaml:10:11: clients[1].env.WEBUI_URL: WEBUI_URL is set by fleetctl from domain",
			},
			absent: []string{"s3cr3t-value"}, count: 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, err := Parse([]byte(tt.in), "f.yaml")
			if err == nil {
				t.Fatalf("Parse succeeded, want errors %q", tt.want)
			}
			if spec != nil {
				t.Errorf("Parse returned a spec with an error")
			}
			var ds *Diagnostics
			if !errors.As(err, &ds) {
				t.Fatalf("error is %T, want *Diagnostics: %v", err, err)
			}
			got := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in:\n%s", w, got)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(got, a) {
					t.Errorf("output echoes %q:\n%s", a, got)
				}
			}
			if tt.count > 0 && len(*ds) != tt.count {
				t.Errorf("got %d diagnostics, want %d:\n%s", len(*ds), tt.count, got)
			}
			for _, d := range *ds {
				if d.Line < 1 {
					t.Errorf("diagnostic without a line: %+v", d)
				}
			}
		})
	}
}

// A badly broken file reports a bounded number of diagnostics, the last one
// saying how many were left out.
func TestDiagnosticsCapped(t *testing.T) {
	var sb strings.Builder
	sb.WriteString(hdr)
	for i := 0; i < 600; i++ {
		sb.WriteString("  - name: A\n    port: 1\n")
	}
	_, err := Parse([]byte(sb.String()), "cap.yaml")
	var ds *Diagnostics
	if !errors.As(err, &ds) {
		t.Fatal(err)
	}
	if len(*ds) != maxDiagnostics+1 {
		t.Fatalf("got %d diagnostics, want %d", len(*ds), maxDiagnostics+1)
	}
	if last := (*ds)[maxDiagnostics]; last.Message != "too many errors: 700 more not shown" {
		t.Errorf("last diagnostic = %+v", last)
	}
}
