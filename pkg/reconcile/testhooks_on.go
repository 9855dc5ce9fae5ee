//go:build fleetctl_testhooks

package reconcile

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// The integration tests' fault-injection hooks. They exist only in the
// binary built with -tags fleetctl_testhooks (make build-test →
// bin/fleetctl-test); the release binary has the no-ops of testhooks_off.go.

// TestPause is a hook for apply.MigrationOptions.AfterStep:
// FLEETCTL_TEST_MIGRATE_PAUSE=STEP:DURATION (e.g. copy:30s) pauses once
// after that step, so integration tests can kill fleetctl at a known point.
func TestPause(log func(string)) func(step string) {
	v := os.Getenv("FLEETCTL_TEST_MIGRATE_PAUSE")
	step, dur, ok := strings.Cut(v, ":")
	d, err := time.ParseDuration(dur)
	if !ok || err != nil || d <= 0 {
		return nil
	}
	return func(s string) {
		if s == step {
			log(fmt.Sprintf("test hook: pausing %s after step %s (FLEETCTL_TEST_MIGRATE_PAUSE)", d, s))
			time.Sleep(d)
		}
	}
}

// testStall: FLEETCTL_TEST_MIGRATE_STALL=5s pauses a migration once, inside
// its copy transaction, so integration tests can kill PostgreSQL or
// fleetctl at a known point.
func testStall() time.Duration {
	d, err := time.ParseDuration(os.Getenv("FLEETCTL_TEST_MIGRATE_STALL"))
	if err != nil {
		return 0
	}
	return d
}
