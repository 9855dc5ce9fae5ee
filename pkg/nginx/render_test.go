package nginx

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quantabase/fleetctl/pkg/resource"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func tlsSite() resource.Site {
	return resource.Site{
		Fleet: "quantabase", Client: "acme-corp", Domain: "acme.example.com", Upstream: "127.0.0.1:8081",
		TLS: true, Certificate: "/etc/letsencrypt/live/acme.example.com/fullchain.pem",
		CertificateKey: "/etc/letsencrypt/live/acme.example.com/privkey.pem",
		HTTPPort:       80, HTTPSPort: 443, ClientMaxBodySize: "100m",
		ReadTimeout: 10 * time.Minute, ConnectTimeout: 10 * time.Second,
	}
}

func plainSite() resource.Site {
	return resource.Site{
		Fleet: "quantabase", Client: "beta-client", Domain: "beta.localhost.test", Upstream: "127.0.0.1:8082",
		HTTPPort: 8080, ClientMaxBodySize: "1g", ReadTimeout: time.Hour, ConnectTimeout: 5 * time.Second,
	}
}

func TestRenderGolden(t *testing.T) {
	tlsOther := tlsSite()
	tlsOther.HTTPSPort, tlsOther.HTTPPort = 8443, 8080
	for name, s := range map[string]resource.Site{"tls": tlsSite(), "plain": plainSite(), "tls-port": tlsOther} {
		t.Run(name, func(t *testing.T) {
			got, err := Render(s)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", "render", name+".conf"), got)
			// The header's hash covers the rest, and the recorded site reads back.
			f := parseFile("x.conf", got)
			if !f.Managed || f.Hash != f.Actual || f.Fleet != s.Fleet || f.Client != s.Client ||
				f.Format != resource.SiteFormat || f.Site == nil || *f.Site != s {
				t.Errorf("parsed back as %+v", f)
			}
			again, _ := Render(s)
			if !bytes.Equal(got, again) {
				t.Error("Render is not deterministic")
			}
		})
	}
}

func TestParseFileDetectsEdits(t *testing.T) {
	data, err := Render(tlsSite())
	if err != nil {
		t.Fatal(err)
	}
	edited := bytes.Replace(data, []byte("proxy_buffering off;"), []byte("proxy_buffering on;"), 1)
	if f := parseFile("a.conf", edited); !f.Managed || f.Hash == f.Actual {
		t.Errorf("hand edit not detected: %+v", f)
	}
	for name, in := range map[string]string{
		"no header":        "server { listen 80; }\n",
		"header not first": "\n" + string(data),
		"empty":            "",
		"tampered header":  strings.Replace(string(data), "fleet quantabase", "fleet Quanta;base", 1),
	} {
		if f := parseFile("a.conf", []byte(in)); f.Managed {
			t.Errorf("%s: parsed as managed", name)
		}
	}
}

// TestRenderRefusesInjection: the renderer re-checks every value even though
// the loader already rejects them (invariant 4).
func TestRenderRefusesInjection(t *testing.T) {
	tests := []struct {
		name string
		edit func(*resource.Site)
	}{
		{"domain with semicolon", func(s *resource.Site) { s.Domain = "a.example.com; return 200" }},
		{"domain with newline", func(s *resource.Site) { s.Domain = "a.example.com\n    location /x {}" }},
		{"domain with brace", func(s *resource.Site) { s.Domain = "a.example.com}" }},
		{"domain upper case", func(s *resource.Site) { s.Domain = "A.example.com" }},
		{"client with space", func(s *resource.Site) { s.Client = "a b" }},
		{"fleet with quote", func(s *resource.Site) { s.Fleet = `q"x` }},
		{"upstream with path", func(s *resource.Site) { s.Upstream = "127.0.0.1:8081/; return 200" }},
		{"upstream host name", func(s *resource.Site) { s.Upstream = "evil.example.com:80" }},
		{"certificate with space", func(s *resource.Site) { s.Certificate = "/a b.pem" }},
		{"certificate with variable", func(s *resource.Site) { s.Certificate = "/a/$host.pem" }},
		{"certificate relative", func(s *resource.Site) { s.CertificateKey = "key.pem" }},
		{"body size directive", func(s *resource.Site) { s.ClientMaxBodySize = "1m; allow all" }},
		{"zero port", func(s *resource.Site) { s.HTTPPort = 0 }},
		{"same ports", func(s *resource.Site) { s.HTTPSPort = 80 }},
		{"fractional timeout", func(s *resource.Site) { s.ReadTimeout = 1500 * time.Millisecond }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tlsSite()
			tt.edit(&s)
			if out, err := Render(s); !errors.Is(err, ErrUnsafe) {
				t.Errorf("Render = %v, want ErrUnsafe; output:\n%s", err, out)
			}
		})
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./pkg/nginx -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test ./pkg/nginx -run TestRenderGolden -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
