#!/bin/sh
# Benchmark a no-op plan over 3 hosts x 30 clients (three extra dockerd on
# this machine, see pkg/docker/dockertest; needs root) against each host's
# plan alone: wall time vs the slowest host and the sum. Prints a Markdown
# report (docs/BENCHMARKS.md, "Several hosts").
#   scripts/bench-hosts.sh [path/to/fleetctl]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/bin/fleetctl}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
cd "$root"
FLEETCTL_BIN=$bin FLEETCTL_BENCH_HOSTS=1 ${GO:-go} test -count=1 -timeout 20m -run '^TestHostsBench$' ./cmd/fleetctl -v 2>&1 |
	sed -n '/^No-op plan over/,/^--- /p' | grep -v '^--- '
