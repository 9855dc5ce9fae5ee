package certify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/quantabase/fleetctl/pkg/redact"
	"github.com/quantabase/fleetctl/pkg/replicate"
)

// Target is the deployment to certify, from fleet.yaml's sync: section with
// its secrets resolved.
type Target struct {
	URL        string // the target database as its owner (sync.target)
	MetaSchema string
	Namespace  string   // sync.namespace: the clients' schemas are NS_client_NAME
	Role       string   // the nodes' restricted role
	Clients    []string // the synced clients
	Nodes      []Node
	AdminToken string        // sync.adminToken ("" when the admin API is off)
	Secrets    []string      // values that must appear in no /health or /metrics
	Lease      time.Duration // the lease: bounds the failover wait
}

// Node is one node container and its HTTP address.
type Node struct {
	Name    string // container name and node id
	BaseURL string // http://HOST:PORT
}

// Containers kills and starts node containers (pkg/docker).
type Containers interface {
	KillContainer(ctx context.Context, id string) error
	StartContainer(ctx context.Context, id string) error
}

// Run runs every check in order — security, the conflict and cache drills
// on the canary, then the failover with the watermark check around it — and
// returns the report. A check that
// cannot run is a failed check, never a skipped one.
func Run(ctx context.Context, t Target, c Containers) Report {
	start := time.Now()
	m := redact.New(append([]string{t.AdminToken}, t.Secrets...)...)
	var r Report
	add := func(ch Check, since time.Time) {
		ch.Figure = m.String(ch.Figure)
		for i := range ch.Detail {
			ch.Detail[i] = m.String(ch.Detail[i])
		}
		if ch.Seconds == 0 {
			ch.Seconds = time.Since(since).Seconds()
		}
		r.Checks = append(r.Checks, ch)
	}
	s := time.Now()
	add(roleCheck(ctx, t), s)
	s = time.Now()
	add(adminCheck(ctx, t), s)
	s = time.Now()
	add(secretsCheck(ctx, t), s)
	s = time.Now()
	conflicts, cache := canaryChecks(ctx, t) // canary.go
	for _, ch := range conflicts {
		add(ch, s)
	}
	before, werr := replicate.Watermarks(ctx, t.URL, t.MetaSchema)
	s = time.Now()
	fo, killed, term := failoverCheck(ctx, t, c)
	add(fo, s)
	s = time.Now()
	add(watermarkCheck(ctx, t, killed, term, before, werr), s)
	add(cache, s)
	r.OK = r.Failed() == 0
	r.Seconds = time.Since(start).Seconds()
	return r
}

func roleCheck(ctx context.Context, t Target) Check {
	ch := Check{Class: "security", Name: "role-limits"}
	probes, err := replicate.ProbeRole(ctx, t.URL, t.Role)
	if err != nil {
		ch.Figure = "could not probe role " + t.Role
		ch.Detail = []string{err.Error()}
		return ch
	}
	refused := 0
	for _, p := range probes {
		if p.Refused {
			refused++
		}
		ch.Detail = append(ch.Detail, fmt.Sprintf("%s as %s: %s", p.Action, t.Role, p.Answer))
	}
	ch.OK = refused == len(probes)
	ch.Figure = fmt.Sprintf("%d of %d forbidden actions refused to %s", refused, len(probes), t.Role)
	return ch
}

func adminCheck(ctx context.Context, t Target) Check {
	ch := Check{Class: "security", Name: "admin-token"}
	wrong := "certify-wrong-" + randHex()
	tries, good := 0, 0
	for _, n := range t.Nodes {
		cases := []struct {
			what, token string
			want        int
		}{{"no token", "", http.StatusUnauthorized}, {"a wrong token", wrong, http.StatusUnauthorized}}
		if t.AdminToken != "" {
			cases = append(cases, struct {
				what, token string
				want        int
			}{"the fleet's token", t.AdminToken, http.StatusOK})
		}
		for _, c := range cases {
			tries++
			code, err := get(ctx, n.BaseURL+"/api/v1/conflicts?open=true", c.token, nil)
			ans := fmt.Sprint(code)
			if err != nil {
				ans = err.Error()
			}
			if err == nil && code == c.want {
				good++
			}
			ch.Detail = append(ch.Detail, fmt.Sprintf("%s GET /api/v1/conflicts with %s: %s (want %d)", n.Name, c.what, ans, c.want))
		}
	}
	ch.OK = tries > 0 && good == tries
	ch.Figure = fmt.Sprintf("%d of %d admin requests answered as they must", good, tries)
	if t.AdminToken == "" {
		ch.Figure += " (no sync.adminToken: the admin API is off)"
	}
	return ch
}

func secretsCheck(ctx context.Context, t Target) Check {
	ch := Check{Class: "security", Name: "no-secret-in-health-metrics"}
	var secrets []string
	for _, s := range append([]string{t.AdminToken}, t.Secrets...) {
		if len(s) >= 4 {
			secrets = append(secrets, s)
		}
	}
	scanned, leaks, fetched := 0, 0, 0
	for _, n := range t.Nodes {
		for _, path := range []string{"/health", "/metrics"} {
			var body strings.Builder
			code, err := get(ctx, n.BaseURL+path, "", &body)
			if err != nil || code != http.StatusOK {
				ch.Detail = append(ch.Detail, fmt.Sprintf("%s GET %s: %d %v", n.Name, path, code, err))
				continue
			}
			fetched++
			scanned += body.Len()
			for _, s := range secrets {
				if strings.Contains(body.String(), s) {
					leaks++
					ch.Detail = append(ch.Detail, fmt.Sprintf("%s GET %s contains a secret", n.Name, path))
				}
			}
		}
	}
	ch.OK = leaks == 0 && fetched == 2*len(t.Nodes) && fetched > 0
	ch.Figure = fmt.Sprintf("%d secrets searched in %d bytes of %d documents: %d found", len(secrets), scanned, fetched, leaks)
	return ch
}

// get fetches url with an optional bearer token; body, when given, gets at
// most 4 MiB of the answer.
func get(ctx context.Context, url, token string, body io.Writer) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if body == nil {
		body = io.Discard
	}
	_, err = io.Copy(body, io.LimitReader(resp.Body, 4<<20))
	return resp.StatusCode, err
}

// health is a node's /health, or an error.
func health(ctx context.Context, n Node) (replicate.Health, error) {
	var b strings.Builder
	var h replicate.Health
	code, err := get(ctx, n.BaseURL+"/health", "", &b)
	if err == nil && code != http.StatusOK {
		err = fmt.Errorf("GET /health: %d", code)
	}
	if err == nil {
		err = json.Unmarshal([]byte(b.String()), &h)
	}
	return h, err
}

func randHex() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}
