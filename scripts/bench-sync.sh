#!/usr/bin/env bash
# Sync service benchmarks: failover after a leader crash and graceful hand-off
# (20 trials each, real `fleetctl sync-node` processes, default timings),
# replication lag at 100 writes/s, the leader's peak RSS. Prints the
# docs/BENCHMARKS.md table. Usage: scripts/bench-sync.sh [BIN]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-bin/fleetctl}
case "$bin" in /*) ;; *) bin="$PWD/$bin" ;; esac
[ -x "$bin" ] || { echo "no fleetctl binary at $bin (make build)"; exit 1; }
FLEETCTL_BIN="$bin" go test -tags syncbench -count=1 -v -timeout 20m -run '^TestSyncBenchmarks$' ./pkg/replicate/ |
  grep -E '^(\||leader node)' || { echo "bench-sync failed"; exit 1; }
