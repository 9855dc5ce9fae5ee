package promapi

import (
	"context"
	"strings"
	"testing"
)

// The real server is exercised by cmd/fleetctl's TestPrometheusScrapesWatch;
// here only what is refused before any request.
func TestReloadRefusesBadURLs(t *testing.T) {
	for _, u := range []string{"", "127.0.0.1:9090", "ftp://h/", "http://"} {
		if err := Reload(context.Background(), u); err == nil || !strings.Contains(err.Error(), "not an http(s) URL") {
			t.Errorf("Reload(%q) = %v", u, err)
		}
	}
}

func TestReloadMasksPassword(t *testing.T) {
	err := Reload(context.Background(), "http://user:s3cret-prom@127.0.0.1:1")
	if err == nil || strings.Contains(err.Error(), "s3cret-prom") {
		t.Errorf("error shows the password or is nil: %v", err)
	}
}
