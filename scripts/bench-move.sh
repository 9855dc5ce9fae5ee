#!/bin/sh
# Benchmark the downtime of moving a ~320 MB client between two hosts (two
# extra dockerd on this machine, see pkg/docker/dockertest; needs root)
# against a stop-first replace of the same client on one host, in the same
# run. Prints a Markdown report (docs/BENCHMARKS.md, "Several hosts").
#   scripts/bench-move.sh [path/to/fleetctl]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/bin/fleetctl}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
cd "$root"
FLEETCTL_BIN=$bin FLEETCTL_BENCH_MOVE=1 ${GO:-go} test -count=1 -timeout 30m -run '^TestHostsMoveBench$' ./cmd/fleetctl -v 2>&1 |
	sed -n '/^Move of a client/,/^--- /p' | grep -v '^--- '
