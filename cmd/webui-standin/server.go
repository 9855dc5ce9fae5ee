package main

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// server holds the HTTP handlers: the Open WebUI look-alike endpoints here,
// the test-only API in testapi.go and the WebSocket echo in ws.go.
type server struct {
	cfg     config
	store   *store
	environ func() []string
	mux     *http.ServeMux

	// started is set when start-up has finished (after STANDIN_START_DELAY).
	// Until then every request gets 503, /ready included: the app serves
	// nothing before its lifespan start-up is complete.
	started atomic.Bool

	stopOnce sync.Once
	stop     chan struct{} // closed on shutdown: ends streams and WebSockets
}

func newServer(cfg config, st *store, environ func() []string) *server {
	s := &server{cfg: cfg, store: st, environ: environ, mux: http.NewServeMux(), stop: make(chan struct{})}
	s.mux.HandleFunc("GET /health", s.handleHealth)
	s.mux.HandleFunc("GET /health/db", s.handleHealthDB)
	s.mux.HandleFunc("GET /ready", s.handleReady)
	s.mux.HandleFunc("GET /api/health", s.handleGrafanaHealth) // grafana.go
	s.mux.HandleFunc("GET /api/config", s.handleConfig)
	s.mux.HandleFunc("GET /{$}", s.handleRoot)
	s.registerTestAPI()
	return s
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.started.Load() {
		writeError(w, http.StatusServiceUnavailable, "Startup not complete")
		return
	}
	s.mux.ServeHTTP(w, r)
}

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

// pingDB is the app's database ping (SELECT 1), bounded.
func (s *server) pingDB(ctx context.Context) error {
	if s.cfg.dbDown {
		return errDBDown
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	return s.store.Ping(ctx)
}

// handleHealthDB fails the way the app fails: its ping raises, nothing
// handles it, and the server answers a plain 500.
func (s *server) handleHealthDB(w http.ResponseWriter, r *http.Request) {
	if err := s.pingDB(r.Context()); err != nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte("Internal Server Error"))
		return
	}
	writeJSON(w, http.StatusOK, statusBody{true})
}

// handleReady is the app's readiness check: 503 with the app's detail until
// start-up is complete (see ServeHTTP) and whenever the database ping fails.
// STANDIN_UNHEALTHY fails it too: it stands for an application that never
// becomes healthy, whichever endpoint a gate asks.
func (s *server) handleReady(w http.ResponseWriter, r *http.Request) {
	if s.cfg.unhealthy {
		writeError(w, http.StatusServiceUnavailable, "Application not healthy")
		return
	}
	if err := s.pingDB(r.Context()); err != nil {
		writeError(w, http.StatusServiceUnavailable, "Database not ready")
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

// handleConfig mirrors Open WebUI's public /api/config: the name with the
// app's suffix, and oauth.providers always present (empty when none is
// configured), google only when both its client id and secret are set.
func (s *server) handleConfig(w http.ResponseWriter, r *http.Request) {
	c := apiConfig{Status: true, Name: s.cfg.displayName(), Version: version, Standin: true,
		OAuth: oauthConfig{Providers: map[string]string{}}}
	if s.cfg.googleClientID != "" && s.cfg.googleClientSecret != "" {
		c.OAuth.Providers["google"] = "google"
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *server) handleRoot(w http.ResponseWriter, r *http.Request) {
	name := html.EscapeString(s.cfg.displayName())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write([]byte("<!doctype html>\n<html><head><title>" + name + "</title></head><body>\n<h1>" + name +
		"</h1>\n<p>fleetctl Open WebUI stand-in (NOT Open WebUI), version " + version + ".</p>\n</body></html>\n"))
}
