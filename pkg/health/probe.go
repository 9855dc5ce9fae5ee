package health

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/quantabase/fleetctl/pkg/observe"
)

// The endpoints a client is gated on. Open WebUI serves ReadyPath (503 while
// its start-up runs and whenever its database ping fails); older images only
// serve LegacyPath, which answers true even when the database is gone.
const (
	ReadyPath  = "/ready"
	LegacyPath = "/health"
)

// Result is one probe's verdict (the observed-state type, so a snapshot can
// carry it).
type Result = observe.Probe

// URL is where a client's endpoint answers: on the probe host (the Docker
// host) unless the port is bound to one specific other address.
func URL(probeHost, bind string, port int, path string) string {
	host := bind
	switch bind {
	case "", "0.0.0.0", "::", "127.0.0.1":
		host = probeHost
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(port)) + path
}

// Prober asks clients' HTTP endpoints.
type Prober struct {
	// HTTP is the client used (each request should be bounded by its ctx).
	HTTP *http.Client
	// Host is where published ports are reached (the Docker host).
	Host string
	// AnyOK counts any HTTP 200 on the configured path as healthy, whatever
	// the body (a sync node's /health; Open WebUI's answers {"status": true}).
	AnyOK bool
}

// Probe asks the client published on bind:port once. With path "" it asks
// ReadyPath and, when that answers 404, LegacyPath; Result.Path says which
// one decided.
func (p Prober) Probe(ctx context.Context, bind string, port int, path string) Result {
	if path != "" {
		ok, detail, code := Check(ctx, p.HTTP, URL(p.Host, bind, port, path))
		if p.AnyOK && code == http.StatusOK {
			ok, detail = true, ""
		}
		return Result{OK: ok, Path: path, Detail: detail}
	}
	ok, detail, code := Check(ctx, p.HTTP, URL(p.Host, bind, port, ReadyPath))
	if code == http.StatusNotFound {
		ok, detail, _ = Check(ctx, p.HTTP, URL(p.Host, bind, port, LegacyPath))
		return Result{OK: ok, Path: LegacyPath, Detail: detail}
	}
	return Result{OK: ok, Path: ReadyPath, Detail: detail}
}

// Check asks url once: ok when it answers 200 {"status": true}; else detail
// says what it answered. code is the HTTP status (0 when none came back).
func Check(ctx context.Context, hc *http.Client, url string) (ok bool, detail string, code int) {
	if hc == nil {
		hc = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, err.Error(), 0
	}
	resp, err := hc.Do(req)
	if err != nil {
		return false, shortNetError(err), 0
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Sprintf("HTTP %d", resp.StatusCode), resp.StatusCode
	}
	var v struct {
		Status bool `json:"status"`
	}
	if err := json.Unmarshal(body, &v); err != nil || !v.Status {
		return false, fmt.Sprintf("unexpected body %q", strings.TrimSpace(string(body))), resp.StatusCode
	}
	return true, "", resp.StatusCode
}

// shortNetError keeps the part of a transport error an operator reads
// ("connection refused"), not the Go request it came from.
func shortNetError(err error) string {
	s := err.Error()
	for _, k := range []string{"connection refused", "connection reset by peer", "EOF", "context deadline exceeded", "i/o timeout"} {
		if strings.Contains(s, k) {
			return k
		}
	}
	return s
}
