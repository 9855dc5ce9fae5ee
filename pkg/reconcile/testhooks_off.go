//go:build !fleetctl_testhooks

package reconcile

import "time"

// TestPause is the release binary's: no hook (see testhooks_on.go).
func TestPause(func(string)) func(step string) { return nil }

func testStall() time.Duration { return 0 }
