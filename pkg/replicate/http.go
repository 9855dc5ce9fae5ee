package replicate

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Health is GET /health: nothing secret in it.
type Health struct {
	NodeID        string         `json:"nodeId"`
	Role          Role           `json:"role"`
	Term          int64          `json:"term"`
	Leader        string         `json:"leader,omitempty"` // last known holder
	LeaseExpires  *time.Time     `json:"leaseExpires,omitempty"`
	UptimeSeconds float64        `json:"uptimeSeconds"`
	Clients       []ClientStatus `json:"clients"`
	// Canary is the certification canary's status (canary.go), apart from
	// the clients; absent when the node has none.
	Canary *ClientStatus `json:"canary,omitempty"`
	// CacheTTLSeconds bounds each entry's shapesAgeSeconds.
	CacheTTLSeconds float64 `json:"cacheTTLSeconds"`
}

// Clients is each client's status, by name (the canary is not a client).
func (n *Node) Clients() []ClientStatus {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]ClientStatus, 0, len(n.clients))
	for _, c := range n.clients {
		if !c.canary {
			out = append(out, c.status())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// status is c's status; the caller holds n.mu.
func (c *clientState) status() ClientStatus {
	s := ClientStatus{Name: c.Name, LastError: c.lastErr, RowsWritten: c.written}
	if !c.lastSync.IsZero() {
		t := c.lastSync.UTC()
		s.LastSync, s.LagSeconds = &t, time.Since(c.lastSync).Seconds()
	}
	if c.shapes != nil {
		age := time.Since(c.shapesAt).Seconds()
		s.ShapesAgeSeconds = &age
	}
	return s
}

// Health is the node's health document.
func (n *Node) Health() Health {
	n.mu.Lock()
	now := time.Now()
	h := Health{NodeID: n.cfg.NodeID, Role: n.el.Role(now), Term: n.el.Term(), Leader: n.el.Holder(),
		UptimeSeconds: time.Since(n.started).Seconds(), CacheTTLSeconds: n.cfg.CacheTTL.Seconds()}
	if n.canary != nil {
		cs := n.canary.status()
		h.Canary = &cs
	}
	if h.Role == Leader {
		t := now.Add(time.Until(n.el.ValidUntil())).UTC()
		h.LeaseExpires = &t
	}
	n.mu.Unlock()
	h.Clients = n.Clients()
	return h
}

// Handler serves /health, /metrics and the admin API under /api/v1/.
func (n *Node) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, n.Health()) })
	mux.Handle("GET /metrics", promhttp.HandlerFor(n.m.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("POST /api/v1/sync", n.admin(func(w http.ResponseWriter, r *http.Request) {
		if role, _ := n.Role(); role != Leader {
			writeJSON(w, http.StatusConflict, map[string]string{"error": "not the leader", "leader": n.Health().Leader})
			return
		}
		n.Trigger()
		writeJSON(w, http.StatusAccepted, map[string]string{"status": "triggered"})
	}))
	mux.HandleFunc("POST /api/v1/canary", n.admin(n.canaryHandler))
	mux.HandleFunc("GET /api/v1/conflicts", n.admin(func(w http.ResponseWriter, r *http.Request) {
		cs, err := n.Conflicts(r.Context(), r.URL.Query().Get("open") == "true")
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": n.masker.String(err.Error())})
			return
		}
		writeJSON(w, http.StatusOK, cs)
	}))
	mux.HandleFunc("POST /api/v1/conflicts/{id}/resolve", n.admin(func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		var body struct {
			Resolution Outcome `json:"resolution"`
		}
		if err == nil {
			err = json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&body)
		}
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "want POST /api/v1/conflicts/ID/resolve with {\"resolution\": \"source\"|\"target\"}"})
			return
		}
		switch err := n.Resolve(r.Context(), id, body.Resolution, "api"); {
		case err == nil:
			writeJSON(w, http.StatusOK, map[string]string{"status": "resolved"})
		case errors.Is(err, ErrNotLeader), errors.Is(err, ErrFenced):
			writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
		case errors.Is(err, ErrNoConflict):
			writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
		default:
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": n.masker.String(err.Error())})
		}
	}))
	return mux
}

// admin checks the bearer token in constant time. Without a configured
// token the admin API is off.
func (n *Node) admin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if n.cfg.AdminToken == "" || !ok || subtle.ConstantTimeCompare([]byte(got), []byte(n.cfg.AdminToken)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="fleetctl-sync"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "unauthorized"})
			return
		}
		h(w, r)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// Conflict is a recorded conflict with both versions.
type Conflict struct {
	ID         int64           `json:"id"`
	Client     string          `json:"client"`
	Table      string          `json:"table"`
	PK         json.RawMessage `json:"pk"`
	Strategy   string          `json:"strategy"`
	Outcome    string          `json:"outcome"`
	Source     json.RawMessage `json:"source"` // null: the source deleted the row
	Target     json.RawMessage `json:"target"`
	Term       int64           `json:"term"`
	DetectedAt time.Time       `json:"detectedAt"`
	ResolvedAt *time.Time      `json:"resolvedAt,omitempty"`
	Resolution *string         `json:"resolution,omitempty"`
}

// Sentinels of Resolve.
var (
	ErrNotLeader  = errors.New("not the leader: resolve on the leading node")
	ErrNoConflict = errors.New("no open conflict with that id")
)

// Conflicts lists conflicts, newest first (at most 500).
func (n *Node) Conflicts(ctx context.Context, openOnly bool) ([]Conflict, error) {
	rows, err := n.db.Query(ctx, `SELECT id, client, tbl, pk, strategy, outcome, coalesce(source_row::text, 'null'),
		coalesce(target_row::text, 'null'), term, detected_at, resolved_at, resolution
		FROM `+n.meta+`.conflicts WHERE NOT $1 OR resolved_at IS NULL ORDER BY id DESC LIMIT 500`, openOnly)
	if err != nil {
		return nil, fmt.Errorf("conflicts: %w", err)
	}
	out := []Conflict{}
	for rows.Next() {
		var c Conflict
		var pk, src, tgt string
		if err := rows.Scan(&c.ID, &c.Client, &c.Table, &pk, &c.Strategy, &c.Outcome, &src, &tgt, &c.Term, &c.DetectedAt, &c.ResolvedAt, &c.Resolution); err != nil {
			rows.Close()
			return nil, err
		}
		c.PK, c.Source, c.Target = json.RawMessage(pk), json.RawMessage(src), json.RawMessage(tgt)
		out = append(out, c)
	}
	rows.Close()
	return out, rows.Err()
}

// Resolve closes an open (manual) conflict: "source" writes the recorded
// source version (or deletes the row when the source deleted it), "target"
// keeps the target's. Only the leader may, under its fencing token.
func (n *Node) Resolve(ctx context.Context, id int64, res Outcome, by string) error {
	if res != WriteSource && res != KeepTarget {
		return fmt.Errorf("resolution must be %q or %q", WriteSource, KeepTarget)
	}
	tok, ok := n.Token()
	if !ok {
		return ErrNotLeader
	}
	var client string
	err := fencedTx(ctx, n.db, n.meta, tok, idleInTx, func(tx pgx.Tx) error {
		var table, pk string
		var src *string
		err := tx.QueryRow(ctx, `SELECT client, tbl, pk, source_row::text FROM `+n.meta+`.conflicts
			WHERE id = $1 AND resolved_at IS NULL FOR UPDATE`, id).Scan(&client, &table, &pk, &src)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNoConflict
		}
		if err != nil {
			return err
		}
		var sh *shape
		n.mu.Lock()
		if c := n.clients[client]; c != nil {
			for _, s := range c.shapes {
				if s.Table == table {
					sh = s
				}
			}
		}
		n.mu.Unlock()
		if sh == nil {
			return fmt.Errorf("table %s of client %s is not replicated by this node (yet)", table, client)
		}
		p := &tablePass{tx: tx, meta: n.meta, client: client, sh: sh, tok: tok}
		if res == WriteSource {
			if err := p.writeJSON(ctx, pk, src); err != nil {
				return err
			}
		}
		var hash *string
		if err := tx.QueryRow(ctx, `SELECT md5(t::text) FROM `+sh.quotedName+` t WHERE `+sh.pkExpr("t")+` = $1`, pk).Scan(&hash); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if hash != nil {
			kept := ""
			if res == KeepTarget {
				kept = keptSource(src)
			}
			if err := p.setHash(ctx, pk, *hash, kept); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, `UPDATE `+n.meta+`.conflicts SET resolved_at = clock_timestamp(), resolution = $2, resolved_by = $3 WHERE id = $1`, id, string(res), by)
		return err
	})
	if err == nil && client != CanaryClient {
		n.m.resolved.WithLabelValues(string(Manual)).Inc()
	}
	return err
}

// writeJSON upserts a row given as row_to_json text (nil: delete it).
func (p *tablePass) writeJSON(ctx context.Context, pk string, row *string) error {
	sh := p.sh
	if row == nil {
		_, err := p.tx.Exec(ctx, `DELETE FROM `+sh.quotedName+` t WHERE `+sh.pkExpr("t")+` = $1`, pk)
		return err
	}
	set := "DO NOTHING"
	if np := sh.nonPK(); len(np) > 0 {
		parts := make([]string, len(np))
		for i, c := range np {
			q := pgx.Identifier{c}.Sanitize()
			parts[i] = q + " = EXCLUDED." + q
		}
		set = "DO UPDATE SET " + strings.Join(parts, ", ")
	}
	_, err := p.tx.Exec(ctx, `INSERT INTO `+sh.quotedName+` (`+qcols(sh.Cols, "")+`)
		SELECT `+qcols(sh.Cols, "r")+` FROM json_populate_record(NULL::`+sh.quotedName+`, $1::json) r
		ON CONFLICT (`+qcols(sh.PK, "")+`) `+set, *row)
	return err
}

// Serve runs the HTTP server on cfg.Listen until ctx ends.
func (n *Node) Serve(ctx context.Context) error {
	if n.cfg.Listen == "" {
		return nil
	}
	srv := &http.Server{Addr: n.cfg.Listen, Handler: n.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("listen %s: %w", n.cfg.Listen, err)
	}
	return nil
}
