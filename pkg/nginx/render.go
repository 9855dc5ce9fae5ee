package nginx

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"sync"
	"text/template"
	"time"

	"github.com/quantabase/fleetctl/pkg/resource"
)

// The renderer re-checks every value against the same strict patterns the
// loader enforces (invariant 4): a value that could carry a ';', '{', quote,
// space or newline into the server block is refused, never escaped.
// They are compiled on first use: a fleetctl that renders no site (version,
// most plans) does not pay for them at start-up.
var (
	labelRe  = lazyRegexp(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	domainRe = lazyRegexp(`^(localhost|[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+)$`)
	pathRe   = lazyRegexp(`^/[A-Za-z0-9._/@+-]+$`)
	sizeRe   = lazyRegexp(`^[1-9][0-9]{0,9}[kmgKMG]?$`)
)

func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// ErrUnsafe is returned by Render for a value outside the allowed patterns.
var ErrUnsafe = errors.New("unsafe value for an nginx server block")

// Render returns the complete managed file for s: the header line (fleet,
// client, template format and the SHA-256 of everything after it), the
// site recorded as JSON, then the server blocks. Pure and deterministic.
func Render(s resource.Site) ([]byte, error) {
	if err := check(s); err != nil {
		return nil, fmt.Errorf("render site for client %q: %w", s.Client, err)
	}
	rec, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("render site for client %q: %w", s.Client, err)
	}
	// The probe id names this exact content: the hash of the body rendered
	// with an empty id (the header's hash cannot be in the body it covers).
	draft, err := renderBody(s, rec, "")
	if err != nil {
		return nil, fmt.Errorf("render site for client %q: %w", s.Client, err)
	}
	body, err := renderBody(s, rec, contentHash(draft)[:probeIDLen])
	if err != nil {
		return nil, fmt.Errorf("render site for client %q: %w", s.Client, err)
	}
	out := []byte(header(s.Fleet, s.Client, resource.SiteFormat, contentHash(body)))
	return append(out, body...), nil
}

func renderBody(s resource.Site, rec []byte, probeID string) ([]byte, error) {
	var body bytes.Buffer
	fmt.Fprintf(&body, "%s%s\n", siteLinePrefix, rec)
	v := view(s)
	v.ProbeID = probeID
	if err := serverTmpl().Execute(&body, v); err != nil {
		return nil, err
	}
	return body.Bytes(), nil
}

func contentHash(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

func check(s resource.Site) error {
	bad := func(field, v string) error { return fmt.Errorf("%w: %s %q", ErrUnsafe, field, v) }
	switch {
	case !labelRe().MatchString(s.Fleet):
		return bad("fleet", s.Fleet)
	case !labelRe().MatchString(s.Client):
		return bad("client", s.Client)
	case len(s.Domain) > 253 || !domainRe().MatchString(s.Domain):
		return bad("domain", s.Domain)
	case !sizeRe().MatchString(s.ClientMaxBodySize):
		return bad("clientMaxBodySize", s.ClientMaxBodySize)
	case !validPort(s.HTTPPort):
		return bad("httpPort", strconv.Itoa(s.HTTPPort))
	}
	// A zone (fe80::1%eth0) is free text netip accepts: never let it into a config.
	if ap, err := netip.ParseAddrPort(s.Upstream); err != nil || ap.String() != s.Upstream || ap.Port() == 0 || ap.Addr().Zone() != "" {
		return bad("upstream", s.Upstream)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"readTimeout", s.ReadTimeout}, {"connectTimeout", s.ConnectTimeout}} {
		if d.v < time.Second || d.v%time.Second != 0 {
			return bad(d.name, d.v.String())
		}
	}
	if !s.TLS {
		return nil
	}
	switch {
	case !validPort(s.HTTPSPort) || s.HTTPSPort == s.HTTPPort:
		return bad("httpsPort", strconv.Itoa(s.HTTPSPort))
	case !pathRe().MatchString(s.Certificate):
		return bad("certificate", s.Certificate)
	case !pathRe().MatchString(s.CertificateKey):
		return bad("certificateKey", s.CertificateKey)
	}
	return nil
}

func validPort(p int) bool { return p > 0 && p < 65536 }

type siteView struct {
	resource.Site
	ProbeID        string
	RedirectTo     string
	ReadSeconds    int64
	ConnectSeconds int64
}

func view(s resource.Site) siteView {
	v := siteView{Site: s, ReadSeconds: int64(s.ReadTimeout / time.Second), ConnectSeconds: int64(s.ConnectTimeout / time.Second)}
	v.RedirectTo = "https://" + s.Domain
	if s.HTTPSPort != 443 {
		v.RedirectTo += ":" + strconv.Itoa(s.HTTPSPort)
	}
	return v
}

// serverTmpl is the server block for Open WebUI. Bump resource.SiteFormat
// whenever it changes, so every managed file is rewritten.
var serverTmpl = sync.OnceValue(func() *template.Template { return template.Must(template.New("site").Parse(serverSource)) })

const serverSource = `# Open WebUI of client {{.Client}} (fleet {{.Fleet}}), published at {{.Upstream}}.
{{- if .TLS}}

server {
    listen {{.HTTPPort}};
    server_name {{.Domain}};
{{template "probe" .}}

    return 301 {{.RedirectTo}}$request_uri;
}
{{- end}}

server {
{{- if .TLS}}
    listen {{.HTTPSPort}} ssl;
{{- else}}
    listen {{.HTTPPort}};
{{- end}}
    server_name {{.Domain}};
{{- if not .TLS}}
{{template "probe" .}}
{{- end}}
{{- if .TLS}}

    ssl_certificate {{.Certificate}};
    ssl_certificate_key {{.CertificateKey}};
{{- end}}

    # uploads
    client_max_body_size {{.ClientMaxBodySize}};

    location / {
        proxy_pass http://{{.Upstream}};
        proxy_http_version 1.1;
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;

        # WebSocket upgrade (Open WebUI's socket.io)
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection "upgrade";

        # streamed answers reach the browser as they are generated
        proxy_buffering off;
        proxy_cache off;
        proxy_connect_timeout {{.ConnectSeconds}}s;
        proxy_read_timeout {{.ReadSeconds}}s;
        proxy_send_timeout {{.ReadSeconds}}s;
    }
}
{{- define "probe"}}
    # fleetctl checks after each reload that nginx serves this file: asked
    # with the header X-Fleetctl-Probe, this server names its content.
    if ($http_x_fleetctl_probe) {
        return 200 "fleetctl-site {{.Fleet}} {{.Client}} {{.ProbeID}}\n";
    }
{{- end}}
`
