package main

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"sync"
	"time"
)

// server holds the HTTP handlers: the Open WebUI look-alike endpoints here,
// the test-only API in testapi.go and the WebSocket echo in ws.go.
type server struct {
	cfg     config
	store   store
	environ func() []string
	mux     *http.ServeMux

	stopOnce sync.Once
	stop     chan struct{} // closed on shutdown: ends streams and WebSockets
}

func newServer(cfg config, st store, environ func() []string) *server {
	s := &server{cfg: cfg, store: st, environ: environ, mux: http.NewServeMux(), stop: make(chan struct{})}
	s.mux.HandleFunc("GET /health", s.handleHealth)
	s.mux.HandleFunc("GET /health/db", s.handleHealthDB)
	s.mux.HandleFunc("GET /api/config", s.handleConfig)
	s.mux.HandleFunc("GET /{$}", s.handleRoot)
	s.registerTestAPI()
	return s
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// shutdown is idempotent; http.Server calls it when Shutdown begins.
func (s *server) shutdown() { s.stopOnce.Do(func() { close(s.stop) }) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

type statusBody struct {
	Status bool `json:"status"`
}

func (s *server) handleHealth(w http.ResponseWriter, r *http.Request) {
	if s.cfg.unhealthy {
		writeJSON(w, http.StatusServiceUnavailable, statusBody{false})
		return
	}
	writeJSON(w, http.StatusOK, statusBody{true})
}

func (s *server) handleHealthDB(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, statusBody{false})
		return
	}
	writeJSON(w, http.StatusOK, statusBody{true})
}

type apiConfig struct {
	Status  bool        `json:"status"`
	Name    string      `json:"name"`
	Version string      `json:"version"`
	Standin bool        `json:"standin"`
	OAuth   oauthConfig `json:"oauth"`
}

type oauthConfig struct {
	Providers map[string]string `json:"providers"`
}

// handleConfig mirrors Open WebUI's public /api/config. Upstream always has
// oauth.providers (empty when none is configured); google appears only when
// GOOGLE_CLIENT_ID is set.
func (s *server) handleConfig(w http.ResponseWriter, r *http.Request) {
	c := apiConfig{Status: true, Name: s.cfg.name, Version: version, Standin: true,
		OAuth: oauthConfig{Providers: map[string]string{}}}
	if s.cfg.googleClientID != "" {
		c.OAuth.Providers["google"] = "google"
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *server) handleRoot(w http.ResponseWriter, r *http.Request) {
	name := html.EscapeString(s.cfg.name)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write([]byte("<!doctype html>\n<html><head><title>" + name + "</title></head><body>\n<h1>" + name +
		"</h1>\n<p>fleetctl Open WebUI stand-in (NOT Open WebUI), version " + version + ".</p>\n</body></html>\n"))
}
