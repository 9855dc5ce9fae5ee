package watch

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Handler serves the daemon's endpoints:
//
//	GET /             status page (HTML, for people)
//	GET /status.json  the same data for programs
//	GET /healthz      200 while the process runs
//	GET /readyz       200 when fleet.yaml is valid, Docker answers and a pass
//	                  succeeded recently; 503 with the reasons otherwise
//	GET /metrics      Prometheus metrics
func (d *Daemon) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", d.servePage)
	mux.HandleFunc("GET /status.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(d.Status())
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", d.serveReady)
	mux.Handle("GET /metrics", d.m.Handler())
	return mux
}

// staleAfter is how old the last successful pass may be for /readyz.
func (d *Daemon) staleAfter() time.Duration { return max(3*d.cfg.Resync, 2*time.Minute) }

// Ready reports whether the daemon is doing its job, and if not, why.
func (d *Daemon) Ready(ctx context.Context) (bool, []string) {
	s := d.Status()
	var why []string
	if !s.SpecValid {
		why = append(why, "fleet.yaml is invalid: "+strings.Join(s.SpecErrors, "; "))
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := d.cfg.Engine.Ping(pctx); err != nil {
		d.m.dockerReachable.Set(0)
		why = append(why, "docker unreachable: "+err.Error())
	} else {
		d.m.dockerReachable.Set(1)
	}
	switch {
	case s.LastSuccess.IsZero():
		why = append(why, "no successful reconcile yet")
	case s.Now.Sub(s.LastSuccess) > d.staleAfter():
		why = append(why, fmt.Sprintf("last successful reconcile was %s ago (more than %s)",
			s.Now.Sub(s.LastSuccess).Round(time.Second), d.staleAfter()))
	}
	return len(why) == 0, why
}

func (d *Daemon) serveReady(w http.ResponseWriter, r *http.Request) {
	ok, why := d.Ready(r.Context())
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
		for _, s := range why {
			fmt.Fprintln(w, s)
		}
		return
	}
	fmt.Fprintln(w, "ready")
}
