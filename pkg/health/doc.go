// Package health probes a client: its HTTP readiness endpoint (GET /ready,
// falling back to /health where the image does not serve /ready) and its
// container's state as the engine reports it on inspect (running,
// restarting, restart count, exit code). apply's health gate, status and the
// watch daemon all ask it, so they agree on what "healthy" means.
//
// It reads the engine through the small Inspector interface and imports no
// adapter and no planner: plain data in (observe, resource), verdicts out.
package health
