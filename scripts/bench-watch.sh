#!/bin/sh
# Benchmark `fleetctl watch` against the real engine and the stand-in image:
# drift repair latency (20 trials), edit-to-applied latency, RSS and CPU at
# rest with 100 clients. Prints a Markdown report (docs/BENCHMARKS.md, "watch").
#   scripts/bench-watch.sh [path/to/fleetctl]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/bin/fleetctl}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
cd "$root"
FLEETCTL_BIN=$bin FLEETCTL_BENCH_WATCH=1 ${GO:-go} test -count=1 -timeout 20m -run '^TestWatchBench$' ./cmd/fleetctl -v 2>&1 |
	sed -n '/^Drift repair/,/^--- /p' | grep -v '^--- '
