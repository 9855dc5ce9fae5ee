//go:build !fleetctl_testhooks

package reconcile

import "testing"

// The release build has no fault-injection hooks, whatever the environment.
func TestNoTestHooksInReleaseBuild(t *testing.T) {
	t.Setenv("FLEETCTL_TEST_MIGRATE_PAUSE", "copy:1s")
	t.Setenv("FLEETCTL_TEST_MIGRATE_STALL", "1s")
	if TestPause(func(string) {}) != nil || testStall() != 0 {
		t.Fatal("a test hook is compiled into the release build")
	}
}
