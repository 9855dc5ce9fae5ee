package pg

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/quantabase/fleetctl/pkg/redact"
)

// PostgreSQL quotes what it was sent in its messages (here: the name of a
// database that does not exist, standing in for any echoed secret). pg masks
// every message with the context's masker, plus the URL's own password.
func TestServerMessagesMasked(t *testing.T) {
	const secret = "db-Distinct-Sekr1t-7"
	const password = "Pw-Distinct-Wrong-3"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	mctx := redact.NewContext(ctx, redact.New(secret))

	// The server does echo it, so the test can fail.
	if _, err := Connect(ctx, srv.URL(secret), Options{}); err == nil || !strings.Contains(err.Error(), secret) {
		t.Fatalf("the server no longer echoes the database name (%v): find another echo to test", err)
	}
	_, err := Connect(mctx, srv.URL(secret), Options{})
	if err == nil || strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), redact.Sensitive) {
		t.Errorf("Connect error not masked: %v", err)
	}
	in := Describe(mctx, srv.URL(secret), Options{})
	if in.Reachable || strings.Contains(in.Error, secret) || in.Error == "" {
		t.Errorf("Describe error not masked: %+v", in)
	}

	// A wrong password never shows, with or without a masker.
	for _, c := range []context.Context{ctx, mctx} {
		_, err := Connect(c, srv.URLWithPassword("postgres", password), Options{})
		if err == nil || strings.Contains(err.Error(), password) {
			t.Errorf("wrong password: %v", err)
		}
	}
}
