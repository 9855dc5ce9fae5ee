// Package promapi is the adapter for a running Prometheus server's HTTP API:
// asking it to reload its configuration after fleetctl rendered new files,
// and checking in its metrics that the reload took (verify.go).
// It imports no other package of fleetctl; what to render is pkg/monitoring's.
package promapi
