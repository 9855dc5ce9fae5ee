package pgtest

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

// Main runs a test package against one shared server: call it from TestMain.
// *srv is nil when PostgreSQL is unavailable and FLEETCTL_SKIP_DOCKER=1 (then
// Need skips); otherwise a missing PostgreSQL fails the package.
func Main(m *testing.M, srv **Server, o Options) {
	os.Exit(run(m, srv, o))
}

func run(m *testing.M, srv **Server, o Options) int {
	skip := os.Getenv("FLEETCTL_SKIP_DOCKER") == "1"
	if skip && o.Bridge {
		o.Bridge = false // no Docker: nothing to serve on the bridge
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	s, err := Start(ctx, o)
	cancel()
	if err != nil {
		if !skip {
			fmt.Fprintf(os.Stderr, "pgtest: cannot start PostgreSQL: %v\n(set FLEETCTL_SKIP_DOCKER=1 to skip these tests)\n", err)
			return 1
		}
		s = nil
	}
	*srv = s
	defer s.Stop()
	return m.Run()
}

// Need skips the test when the package runs without PostgreSQL (only
// possible with FLEETCTL_SKIP_DOCKER=1).
func Need(t testing.TB, s *Server) {
	t.Helper()
	if s == nil {
		t.Skip("PostgreSQL not available and FLEETCTL_SKIP_DOCKER=1")
	}
}

// NewDatabase creates a fresh database for this test, dropped at cleanup,
// and returns its name.
func NewDatabase(t testing.TB, s *Server) string {
	t.Helper()
	Need(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name, err := s.CreateDatabase(ctx, t.Name())
	if err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.DropDatabase(ctx, name); err != nil {
			t.Logf("drop database %s: %v", name, err)
		}
	})
	return name
}
