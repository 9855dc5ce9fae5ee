package fleet

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// proxyFleet is a valid fleet (clients on lines 4-6) followed by a proxy
// section starting on line 7 with the given lines.
func proxyFleet(proxyLines string) string {
	return "apiVersion: fleetctl/v1\nfleet: test\nsecretKeySeed: ${env:SEED}\n" +
		"clients:\n  - name: a\n    port: 8081\n    domain: a.example.com\n" +
		"proxy:\n  sitesDir: /etc/nginx/sites-enabled\n" + proxyLines
}

func TestProxyDefaults(t *testing.T) {
	spec, err := Parse([]byte(proxyFleet("")), "f.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := spec.Proxy
	if !slices.Equal(p.Test, []string{"nginx", "-t"}) || !slices.Equal(p.Reload, []string{"nginx", "-s", "reload"}) {
		t.Errorf("commands %v %v", p.Test, p.Reload)
	}
	if p.TLS != TLSFiles || p.Certificate != DefaultCertificate || p.CertificateKey != DefaultCertificateKey ||
		p.HTTPPort != 80 || p.HTTPSPort != 443 || p.ClientMaxBodySize != "100m" ||
		p.ReadTimeout.Std() != 10*time.Minute || p.ConnectTimeout.Std() != 10*time.Second {
		t.Errorf("defaults: %+v", p)
	}
	if got := spec.PublicURL(&spec.Clients[0]); got != "https://a.example.com" {
		t.Errorf("PublicURL = %s", got)
	}
}

func TestPublicURL(t *testing.T) {
	tests := []struct {
		name, proxy, want string
		noProxy           bool
	}{
		{name: "no proxy keeps https", noProxy: true, want: "https://a.example.com"},
		{name: "tls files", proxy: "  tls: files\n", want: "https://a.example.com"},
		{name: "tls files other port", proxy: "  httpsPort: 8443\n", want: "https://a.example.com:8443"},
		{name: "tls none", proxy: "  tls: none\n", want: "http://a.example.com"},
		{name: "tls none other port", proxy: "  tls: none\n  httpPort: 8080\n", want: "http://a.example.com:8080"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := proxyFleet(tt.proxy)
			if tt.noProxy {
				in, _, _ = strings.Cut(in, "proxy:")
			}
			spec, err := Parse([]byte(in), "f.yaml")
			if err != nil {
				t.Fatal(err)
			}
			c := &spec.Clients[0]
			if got := spec.PublicURL(c); got != tt.want {
				t.Errorf("PublicURL = %s, want %s", got, tt.want)
			}
			want := []string{"http://localhost:8081", "http://127.0.0.1:8081", tt.want}
			if got := spec.OAuthOrigins(c); !slices.Equal(got, want) {
				t.Errorf("OAuthOrigins = %v, want %v", got, want)
			}
		})
	}
}

// The proxy's bad-input cases (every way a value could smuggle nginx
// directives into a server block) are files: testdata/fleet/bad/proxy-*.yaml.
