// Package redact masks secrets in text that fleetctl did not write itself:
// errors and log lines from the Docker engine, PostgreSQL and nginx, and the
// connection strings fleetctl prints.
//
// Two kinds of masking, always together:
//   - known values: a Masker is built from the values of every resolved
//     secret (and the values derived from them, such as each client's
//     WEBUI_SECRET_KEY) and replaces each of them, and the ways another
//     system may echo it (Go- or C-quoted, JSON-escaped, %-encoded, SQL
//     single-quoted), by "(sensitive)";
//   - shapes: the password of every URL (scheme://user:PASSWORD@host) and of
//     every key=value DSN (password=...) is replaced by "****", whether or not
//     it is a known secret. URL masks one connection string for display.
//
// Where the masker comes from. It is built once per pass, after the secrets
// are resolved and the plan is made (pkg/reconcile, and cmd/fleetctl for the
// commands that reach PostgreSQL without a pass), and it travels in the
// pass's context (NewContext). A context is what every adapter call already
// takes, it lives exactly as long as the pass whose secrets it knows (the
// watch daemon keeps one Docker client across reloads of fleet.yaml, so the
// masker cannot belong to the client), and it reaches nested adapters
// (migrate → pg) without new parameters.
//
// Where it is applied: at the edge, in each adapter, on every error and line
// of output that can carry a value from the outside system, before it leaves
// the adapter (redact.FromContext(ctx).Error(err)). A context without a
// masker still gets the shape masking, so a forgotten NewContext degrades to
// URL masking, never to nothing.
//
// redact is a leaf: it imports only the standard library, so every adapter
// may import it without importing the spec (pkg/fleet) or each other.
package redact
