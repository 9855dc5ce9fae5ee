// Package nginx is the only package that touches the nginx sites directory or
// runs nginx. It renders one managed server block per client (Render, a pure
// function), observes the directory (Observe: managed files, their recorded
// and actual hashes, unmanaged files by name) and applies a batch of file
// changes (Sites.ApplySites: atomic writes, one configuration test, one
// reload, a check that nginx serves the new files (verify.go), and a
// byte-for-byte restore when the test fails or the reload is not taken).
//
// It decides nothing: which files change is the planner's decision, carried
// in resource.SiteChange. The output of the test and reload commands and the
// error-log lines quoted after a reload nginx did not take are masked with
// the context's masker (pkg/redact) before they reach an error.
// It imports pkg/resource and pkg/observe (plain data) and pkg/redact, never
// pkg/plan, pkg/apply or another adapter.
package nginx
