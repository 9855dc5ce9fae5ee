//go:build fleetctl_testhooks

package replicate

import "os"

// The integration tests' fault injection: only in the binary built with
// -tags fleetctl_testhooks (bin/fleetctl-test); the release binary has the
// no-op of testhooks_off.go.

// testForgetKept: FLEETCTL_TEST_SYNC_FORGET_KEPT=1 makes a node forget the
// source version a kept target row won against (row_hashes.kept_source),
// the fault fleetctl certify's conflict drills must catch.
func testForgetKept() bool { return os.Getenv("FLEETCTL_TEST_SYNC_FORGET_KEPT") == "1" }
