// Package apply executes a plan: it walks the actions as a DAG with bounded
// parallelism, calls the Engine (an adapter) for each step, gates new
// containers on their health check, rolls back a failed recreate, and
// reports what was done and what was not. It decides nothing the plan has
// not decided; it imports pkg/plan and pkg/resource, never an adapter.
package apply
