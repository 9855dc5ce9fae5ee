package main

import "net/http"

// The stand-in also stands in for Grafana in fleetctl's monitoring tests
// (no Grafana can be pulled here): it listens on GF_SERVER_HTTP_ADDR and
// GF_SERVER_HTTP_PORT when PORT is unset and answers Grafana's health
// endpoint. It is not Grafana:
// no provisioning is read and no dashboard is served.

// grafanaHealth is the shape of Grafana's GET /api/health answer.
type grafanaHealth struct {
	Database string `json:"database"`
	Version  string `json:"version"`
}

func (s *server) handleGrafanaHealth(w http.ResponseWriter, _ *http.Request) {
	if s.cfg.unhealthy {
		writeJSON(w, http.StatusServiceUnavailable, grafanaHealth{Database: "failing", Version: "stand-in"})
		return
	}
	writeJSON(w, http.StatusOK, grafanaHealth{Database: "ok", Version: "stand-in"})
}
