package fleet

import (
	"strconv"
	"strings"
	"time"
)

// Bounds of the proxy timeouts: nginx takes whole seconds, and refuses a
// proxy_connect_timeout above 75s.
const (
	maxReadTimeout    = 24 * time.Hour
	maxConnectTimeout = 75 * time.Second
)

// proxy checks what the schema cannot: settings that only make sense with
// TLS, distinct ports, nginx-compatible timeouts.
func (v validator) proxy(path string, p *Proxy) {
	if p == nil {
		return
	}
	if p.TLS == TLSNone {
		for _, f := range []string{"certificate", "certificateKey", "httpsPort"} {
			if v.ix.val(path+"."+f) != nil {
				v.errf(path+"."+f, "%s is only used with tls: files (this proxy has tls: none)", f)
			}
		}
	} else if v.set(path+".httpPort") && v.set(path+".httpsPort") && p.HTTPPort == p.HTTPSPort {
		v.errf(path+".httpsPort", "must differ from httpPort (%d)", p.HTTPPort)
	}
	v.bindAddress(path+".upstreamHost", p.UpstreamHost)
	v.bindAddress(path+".probeHost", p.ProbeHost)
	v.seconds(path+".readTimeout", p.ReadTimeout, maxReadTimeout)
	v.seconds(path+".connectTimeout", p.ConnectTimeout, maxConnectTimeout)
}

// seconds checks a duration nginx will read as whole seconds.
func (v validator) seconds(path string, d Duration, maxD time.Duration) {
	if !v.set(path) {
		return
	}
	if d.Std() < time.Second || d.Std() > maxD || d.Std()%time.Second != 0 {
		v.errf(path, "must be whole seconds between 1s and %s", shortDuration(maxD))
	}
}

// applyProxyDefaults fills every unset proxy field, so adapters and the
// planner read only Proxy fields.
func applyProxyDefaults(p *Proxy) {
	if p == nil {
		return
	}
	if len(p.Test) == 0 {
		p.Test = []string{"nginx", "-t"}
	}
	if len(p.Reload) == 0 {
		p.Reload = []string{"nginx", "-s", "reload"}
	}
	if p.TLS == "" {
		p.TLS = TLSFiles
	}
	if p.TLS == TLSFiles {
		p.Certificate = first(p.Certificate, DefaultCertificate)
		p.CertificateKey = first(p.CertificateKey, DefaultCertificateKey)
		if p.HTTPSPort == 0 {
			p.HTTPSPort = DefaultHTTPSPort
		}
	}
	if p.HTTPPort == 0 {
		p.HTTPPort = DefaultHTTPPort
	}
	p.ClientMaxBodySize = first(p.ClientMaxBodySize, DefaultClientMaxBodySize)
	if p.ReadTimeout == 0 {
		p.ReadTimeout = Duration(DefaultReadTimeout)
	}
	if p.ConnectTimeout == 0 {
		p.ConnectTimeout = Duration(DefaultConnectTimeout)
	}
	p.ProbeHost = first(p.ProbeHost, DefaultProbeHost)
	p.ErrorLog = first(p.ErrorLog, DefaultErrorLog)
}

// PublicURL is where people reach c: its domain through the proxy (https
// unless the proxy has tls: none; a non-default port is kept), or its
// published local address when it has no domain. Without a proxy section a
// domain means https, as before proxies were managed.
func (s *Spec) PublicURL(c *Client) string {
	if c.Domain == "" {
		return "http://localhost:" + strconv.Itoa(c.Port)
	}
	p := s.Proxy
	switch {
	case p == nil:
		return "https://" + c.Domain
	case p.TLS == TLSNone:
		return "http://" + c.Domain + portSuffix(p.HTTPPort, DefaultHTTPPort)
	default:
		return "https://" + c.Domain + portSuffix(p.HTTPSPort, DefaultHTTPSPort)
	}
}

func portSuffix(port, def int) string {
	if port == 0 || port == def {
		return ""
	}
	return ":" + strconv.Itoa(port)
}

// OAuthCallbackPath is Open WebUI's Google OAuth redirect path.
const OAuthCallbackPath = "/oauth/google/callback"

// OAuthOrigins lists the JavaScript origins to register with Google for c:
// the two development addresses of its published port, then its public URL
// when it has a domain.
func (s *Spec) OAuthOrigins(c *Client) []string {
	port := strconv.Itoa(c.Port)
	out := []string{"http://localhost:" + port, "http://127.0.0.1:" + port}
	if c.Domain != "" {
		out = append(out, strings.TrimSuffix(s.PublicURL(c), "/"))
	}
	return out
}
