// Package watch is the convergence daemon behind `fleetctl watch`: it runs
// one reconcile pass (pkg/reconcile: observe → plan → apply under the fleet
// lock, the same pass as `fleetctl apply`) whenever something may have
// drifted, and reports what it sees.
//
// It owns:
//   - the trigger loop: fleet.yaml and its ${file:} secrets changing on disk
//     (fsnotify on their directories, so editors that save by rename are
//     seen), Docker events on the fleet's client containers, a periodic
//     resync, SIGHUP (Trigger), each debounced;
//   - per-client exponential backoff: a client whose actions keep failing is
//     left out of passes (plan.Options.Exclude) until its backoff expires;
//   - the last valid spec: an invalid fleet.yaml is reported and ignored;
//   - metrics (a private Prometheus registry), /healthz, /readyz and a
//     status page for people.
//
// It decides nothing about containers itself (that is pkg/plan) and calls
// Docker only through pkg/reconcile and the small Engine interface. Nothing
// imports it except cmd/fleetctl.
package watch
