#!/usr/bin/env bash
# Benchmark: initial HA sync of the 1M-row Open WebUI v0.11.0 fixture (all 43
# tables, owui-fixture generate -schema v0.11.0) through a node's replication
# code (pkg/replicate: one leader, its first pass, which is a full pass) into a
# fresh target database, side by side with the migration's copy of the same
# file (owui-fixture migrate, into the application's schema) on the same
# throw-away PostgreSQL 15, same run, ROUNDS rounds alternating the two.
# A second full pass over the unchanged database is measured too (the slow
# cycle's cost when nothing changed).
#   scripts/bench-sync-initial.sh [ROWS] [ROUNDS]     default 1000000 3
# FIXTURE=FILE reuses a fixture generated before (with FILE.json, its summary).
# STAGED=1: the first pass takes the path of every later pass (stage, compare,
# upsert) instead of copying straight into the empty tables, for comparison.
# Prints a Markdown section for docs/BENCHMARKS.md on stdout; details go to stderr.
set -euo pipefail
rows=${1:-1000000}
rounds=${2:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
pgbin=/usr/lib/postgresql/15/bin
go=${GO:-go}
[ -x "$pgbin/pg_ctl" ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null; }
[ -x /usr/bin/time ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null; }

work=$(mktemp -d /tmp/fleetctl-bench-sync-initial.XXXXXX)
chown postgres: "$work"
pgrun() { runuser -u postgres -- "$@"; }
cleanup() { pgrun "$pgbin/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true; [ -n "${KEEP:-}" ] || rm -rf "$work"; }
trap cleanup EXIT INT TERM

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
echo bench > "$work/pw"; chown postgres: "$work/pw"
pgrun "$pgbin/initdb" -D "$work/data" -U postgres --pwfile="$work/pw" --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C --no-sync >/dev/null
cat >> "$work/data/postgresql.auto.conf" <<CONF
listen_addresses='127.0.0.1'
unix_socket_directories='$work'
fsync=off
synchronous_commit=off
full_page_writes=off
shared_buffers=256MB
max_wal_size=4GB
CONF
pgrun "$pgbin/pg_ctl" -D "$work/data" -l "$work/pg.log" -o "-p $port" -w start >/dev/null
psql() { command psql -X -q -A -t -h "$work" -p "$port" -U postgres "$@"; }
url() { echo "postgresql://postgres:bench@127.0.0.1:$port/$1"; }

(cd "$root" && CGO_ENABLED=0 "$go" build -o "$work/owui-fixture" ./cmd/owui-fixture)
(cd "$root" && "$go" test -c -tags syncbench -o "$work/replicate.test" ./pkg/replicate/)

db="$work/webui.db"
if [ -n "${FIXTURE:-}" ]; then # FIXTURE=FILE: reuse a generated fixture (FILE.json beside it)
  cp "$FIXTURE" "$db"; cp "$FIXTURE.json" "$work/fixture.json"
else
  "$work/owui-fixture" generate -schema v0.11.0 -o "$db" -rows "$rows" -chat-json 800 > "$work/fixture.json"
fi
chmod a+r "$db"
size=$(stat -c %s "$db")
total=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rows"])' "$work/fixture.json")
echo "fixture: $total rows, $size bytes" >&2

field() { grep "$2" "$1" | awk -F': ' '{print $2}'; }
secs() { field "$1" 'Elapsed (wall clock)' | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }'; }
load() { cut -d' ' -f1 /proc/loadavg; }

: > "$work/results"
for r in $(seq 1 "$rounds"); do
  psql -d postgres -c "CREATE DATABASE mig_$r" -c "CREATE DATABASE sync_$r"
  PGURL=$(url "mig_$r") "$work/owui-fixture" schema -url-env PGURL
  l0=$(load)
  PGURL=$(url "mig_$r") /usr/bin/time -v -o "$work/mig-$r.time" "$work/owui-fixture" migrate -sqlite "$db" -url-env PGURL -report "$work/mig-$r.json" > /dev/null 2> "$work/mig-$r.err" || { echo "migration round $r failed" >&2; tail "$work/mig-$r.err" >&2; exit 1; }
  l1=$(load)
  # pgtest (TestMain) starts its own throw-away server for the package's
  # other tests; the measured pass runs against this one.
  (cd "$root/pkg/replicate" && SYNC_BENCH_STAGED="${STAGED:-}" SYNC_FIXTURE="$db" SYNC_TARGET_URL=$(url "sync_$r") /usr/bin/time -v -o "$work/sync-$r.time" \
    "$work/replicate.test" -test.run '^TestInitialSync$' -test.count=1 -test.v > "$work/sync-$r.out" 2>&1) || { echo "sync round $r failed" >&2; tail -30 "$work/sync-$r.out" >&2; exit 1; }
  l2=$(load)
  copy=$(python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["durations"]["copy"],2))' "$work/mig-$r.json")
  migwall=$(secs "$work/mig-$r.time"); migrss=$(field "$work/mig-$r.time" 'Maximum resident')
  syncrss=$(field "$work/sync-$r.time" 'Maximum resident')
  line=$(grep '^INITIAL ' "$work/sync-$r.out" | cut -d' ' -f2-)
  tgt=$(psql -d "sync_$r" -c "SELECT sum(n_live_tup) FROM pg_stat_user_tables WHERE schemaname = 'client_bench'")
  echo "$r $migwall $copy $((migrss/1024)) $l0 $syncrss $l1 $l2 $line" >> "$work/results"
  echo "round $r: migrate ${migwall}s (copy ${copy}s) load $l0; sync $line load $l1 -> $l2; target rows ~$tgt" >&2
  psql -d postgres -c "DROP DATABASE mig_$r" -c "DROP DATABASE sync_$r"
done

python3 - "$work/results" "$total" "$size" "$rounds" "$(nproc)" "$(date -u +%Y-%m-%d)" <<'PY'
import json, statistics, sys
path, total, size, rounds, cores, day = sys.argv[1:]
total, size = int(total), int(size)
rs = []
for l in open(path):
    p = l.split(' ', 8)
    j = json.loads(p[8])
    rs.append(dict(r=int(p[0]), mig=float(p[1]), copy=float(p[2]), migrss=int(p[3]), l0=p[4], syncrss=int(p[5])//1024, l1=p[6], l2=p[7], **j))
med = lambda k: statistics.median(x[k] for x in rs)
import os
print("## HA sync: initial sync vs the migration's copy" + (" (STAGED=1: the staged path, for comparison)" if os.environ.get("STAGED") else "") + "\n")
print(f"{total} rows ({size//1000000} MB SQLite), Open WebUI v0.11.0's real schema (`owui-fixture generate -schema v0.11.0 -rows N -chat-json 800`),")
print(f"PostgreSQL 15 (fsync off), {cores} cores, {day}; {rounds} rounds, each: the migration (`owui-fixture migrate`, into the")
print("application's schema, its FKs in force; copy then verify), then a node's first pass (one leader, `SyncOnce` full, as a node's")
print("first pass is) into a fresh database (the node creates `client_bench` itself), then a second full pass over the unchanged")
print("file. `scripts/bench-sync-initial.sh` (`make bench-sync-initial`). Load average (1 min) before each run, as other work shared the machine.\n")
print("| round | migration: wall (copy phase), peak RSS, load | initial sync: wall, rows/s, peak RSS, load | sync / migration copy | sync / migration wall | unchanged full pass: wall, chunks compared, differing, staged |")
print("|---|---|---|---|---|---|")
for x in rs:
    print(f"| {x['r']} | {x['mig']:.2f} s ({x['copy']:.2f} s), {x['migrss']} MB, {x['l0']} | {x['seconds']:.2f} s, {x['rows']/x['seconds']:,.0f}, {x['syncrss']} MB, {x['l1']} | {x['seconds']/x['copy']:.2f}× | {x['seconds']/x['mig']:.2f}× | {x['noop_seconds']:.2f} s, {x['noop_chunks']}, {x['noop_differing']}, {x['noop_staged']} |")
print(f"| **median** | {med('mig'):.2f} s ({med('copy'):.2f} s), {med('migrss'):.0f} MB | {med('seconds'):.2f} s, {statistics.median(x['rows']/x['seconds'] for x in rs):,.0f}, {med('syncrss'):.0f} MB | **{statistics.median(x['seconds']/x['copy'] for x in rs):.2f}×** | {statistics.median(x['seconds']/x['mig'] for x in rs):.2f}× | {med('noop_seconds'):.2f} s |")
PY
