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

// TestProxyBad covers the proxy rules and every way a value could smuggle
// nginx directives into a server block: they are all rejected at load.
func TestProxyBad(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"sitesDir relative", strings.Replace(proxyFleet(""), "/etc/nginx/sites-enabled", "sites", 1),
			"f.yaml:9:13: proxy.sitesDir: must be an absolute path"},
		{"sitesDir with semicolon", strings.Replace(proxyFleet(""), "/etc/nginx/sites-enabled", `"/etc/x;y"`, 1),
			"proxy.sitesDir: must be an absolute path"},
		{"certificate injection", proxyFleet("  certificate: \"/a.pem; include /etc/passwd\"\n"),
			"proxy.certificate: must be an absolute path"},
		{"certificate other placeholder", proxyFleet("  certificate: /x/{client}.pem\n"),
			"proxy.certificate: must be an absolute path made of letters, digits, . _ - / @ + and the placeholder {domain}"},
		{"certificate with tls none", proxyFleet("  tls: none\n  certificate: /x/{domain}.pem\n"),
			"f.yaml:11:16: proxy.certificate: certificate is only used with tls: files"},
		{"same ports", proxyFleet("  httpPort: 8080\n  httpsPort: 8080\n"),
			"proxy.httpsPort: must differ from httpPort (8080)"},
		{"unknown tls", proxyFleet("  tls: acme\n"), "proxy.tls: must be one of"},
		{"body size injection", proxyFleet("  clientMaxBodySize: \"1m; return 200\"\n"),
			"proxy.clientMaxBodySize: must be an nginx size"},
		{"read timeout fraction", proxyFleet("  readTimeout: 1500ms\n"),
			"proxy.readTimeout: must be whole seconds between 1s and 24h"},
		{"connect timeout too long", proxyFleet("  connectTimeout: 2m\n"),
			"proxy.connectTimeout: must be whole seconds between 1s and 1m15s"},
		{"command with newline", proxyFleet("  test: [\"nginx\", \"-t\\nreload\"]\n"),
			"proxy.test[1]: must not contain control characters"},
		{"empty command", proxyFleet("  reload: []\n"), "proxy.reload: "},
		{"upstream not an address", proxyFleet("  upstreamHost: \"1.2.3.4:80\"\n"),
			"proxy.upstreamHost: must be an IPv4 or IPv6 address"},
		{"probe host not an address", proxyFleet("  probeHost: nginx.local\n"),
			"proxy.probeHost: must be an IPv4 or IPv6 address"},
		{"error log relative", proxyFleet("  errorLog: logs/error.log\n"), "proxy.errorLog: must be an absolute path"},
		{"domain injection", strings.Replace(proxyFleet(""), "a.example.com", `"a.example.com; location / { return 200; }"`, 1),
			"clients[0].domain: must be a lower-case host name"},
		{"domain with newline", strings.Replace(proxyFleet(""), "a.example.com", `"a.example.com\nserver_name evil"`, 1),
			"clients[0].domain: must be a lower-case host name"},
		{"name injection", strings.Replace(proxyFleet(""), "name: a", `name: "a;b"`, 1),
			"clients[0].name: must be a DNS label"},
		{"env value with newline", strings.Replace(proxyFleet(""), "    domain:", "    env:\n      X: \"a\\n}\"\n    domain:", 1),
			"clients[0].env.X: must not contain control characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in), "f.yaml")
			if err == nil {
				t.Fatalf("accepted:\n%s", tt.in)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("want %q in:\n%v", tt.want, err)
			}
		})
	}
}
