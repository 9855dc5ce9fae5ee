//go:build !fleetctl_testhooks

package replicate

// testForgetKept is the release binary's: no fault (see testhooks_on.go).
func testForgetKept() bool { return false }
