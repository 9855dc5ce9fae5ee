package docker

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/docker/docker/client"
)

// Endpoint names one engine of a fleet with hosts: unix:///PATH,
// tcp://HOST:PORT (TLS when the PEM fields are set) or ssh://[USER@]HOST.
type Endpoint struct {
	Host string
	// CA, Cert and Key are PEM; Key is a secret and is never printed.
	CA, Cert, Key []byte
}

// Dial connects to one engine named by ep, ignoring DOCKER_HOST and the
// other environment variables New reads, then negotiates and pings.
func Dial(ctx context.Context, ep Endpoint) (*Client, error) {
	u, err := url.Parse(ep.Host)
	if err != nil {
		return nil, fmt.Errorf("endpoint: %w", err)
	}
	var opts []client.Opt
	switch {
	case u.Scheme == "ssh":
		// connect adds the ssh dialer.
	case len(ep.Key) > 0 || len(ep.Cert) > 0 || len(ep.CA) > 0:
		if u.Scheme != "tcp" {
			return nil, errors.New("TLS client certificates need a tcp:// endpoint")
		}
		cfg, err := tlsConfig(ep)
		if err != nil {
			return nil, fmt.Errorf("TLS for %s: %w", ep.Host, err)
		}
		// WithHost after WithHTTPClient configures this transport for the
		// host; the TLS config makes countRequests switch to https.
		opts = append(opts,
			client.WithHTTPClient(&http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}),
			client.WithHost(ep.Host))
	default:
		opts = append(opts, client.WithHost(ep.Host))
	}
	return connect(ctx, ep.Host, opts)
}

func tlsConfig(ep Endpoint) (*tls.Config, error) {
	pair, err := tls.X509KeyPair(ep.Cert, ep.Key)
	if err != nil {
		// The error names neither value; it never quotes the key.
		return nil, fmt.Errorf("client certificate and key: %w", err)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}}
	if len(ep.CA) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ep.CA) {
			return nil, errors.New("ca: no PEM certificate found")
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}
