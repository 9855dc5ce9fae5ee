// Package fleet owns the fleet.yaml contract: the spec types, strict loading
// with file:line:column diagnostics, validation against the embedded JSON
// Schema (package schema) plus the semantic rules a schema cannot express,
// defaulting, object naming and secret references.
//
// Loading is the first line of defence of invariants 3 (bad input changes
// nothing), 4 (nothing rendered is injectable) and 5 (secrets stay secret):
// every name, domain, image and env value that later reaches Docker, nginx or a
// shell has passed a strict pattern here, every error is reported at once with
// its position, hostile YAML (alias bombs, deep nesting, huge files) is
// rejected quickly, and no message ever echoes a secret.
//
// The pipeline, one file each:
//
//	load.go          Load/Parse: size cap, one YAML document, orchestration
//	readfile.go      opening fleet.yaml and secret files: non-blocking, regular files only, bounded
//	expand.go        aliases and merge keys expanded under a budget, duplicate keys, tags
//	schemacheck.go   schema/fleet.schema.json enforced by a full JSON Schema validator
//	                 (santhosh-tekuri/jsonschema/v6), compiled on the first load
//	schemaerrors.go  the validator's errors worded for people at their YAML node and field path
//	validate.go      semantic rules (uniqueness, managed env keys, backends, ...) and warnings
//	defaults.go      defaulting so callers read only Client fields; object names
//	proxy.go         the proxy (nginx) section: rules, defaults, public and OAuth URLs
//	secret.go        secret references, resolution and what a resolved value may hold
//	diag.go          positioned Diagnostics (errors and warnings), rendered text and JSON
//	suggest.go       "did you mean" for unknown keys
//	duration.go      Duration as a "90s" string in YAML and JSON
//
// Package init compiles nothing: the schema and the package's regular
// expressions are compiled on first use, so a command that loads no file
// (fleetctl version) does not pay for them.
//
// fleet is a leaf of the module: it imports only schema and pkg/redact
// (architecture_test.go), never the planner, the executor or an adapter
// (docker, nginx, pg), and it performs no I/O beyond reading fleet.yaml and
// resolving secrets when asked.
package fleet
