// Package monitoring renders, from a fleet spec, what Prometheus and Grafana
// need to watch the fleet: prometheus.yml (the watch daemons, the sync
// nodes), the alert rules, Grafana's datasource and dashboard provisioning,
// and the dashboards (built with the Grafana Foundation SDK's typed
// builders, never hand-written JSON).
//
// `fleetctl monitoring render` writes its files; with monitoring.deploy the
// planner (pkg/plan) renders them to plan their changes and reloads.
//
// It is pure, like the planner: no I/O, no clock, no adapters. The same
// spec always renders the same bytes, so the output is golden-tested and a
// changed file means a changed fleet. It imports only the spec and the
// vocabulary; the metric names it refers to are listed in metrics.go and
// checked against the registries that export them.
package monitoring
