package migrate

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/quantabase/fleetctl/pkg/redact"
)

// Every error that leaves migrate has passed the masker: the preflight, the
// copy and the undo all talk to a server that quotes what it was sent (here
// the name of a missing database, standing in for any echoed secret).
func TestErrorsMasked(t *testing.T) {
	const secret = "mig-Distinct-Sekr1t-5"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ctx = redact.NewContext(ctx, redact.New(secret))
	u := srv.URL(secret)

	_, err := Run(ctx, Options{SQLitePath: makeFixture(t, 10).path, URL: u, SkipSourceHash: true, DryRun: true})
	check(t, "preflight", err, secret)
	r, err := Run(ctx, Options{SQLitePath: makeFixture(t, 10).path, URL: u, SkipSourceHash: true})
	check(t, "Run", err, secret)
	if r == nil || strings.Contains(r.Error, secret) {
		t.Errorf("the report's error leaks: %+v", r)
	}
	err = Undo(ctx, u, "", []string{"chat"}, nil)
	check(t, "Undo", err, secret)
}

func check(t *testing.T, what string, err error, secret string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error", what)
		return
	}
	if strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), redact.Sensitive) {
		t.Errorf("%s: error not masked: %v", what, err)
	}
}
