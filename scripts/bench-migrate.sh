#!/usr/bin/env bash
# Benchmark: SQLite → PostgreSQL migration of a ~1M-row / ~250 MB Open
# WebUI-shaped database, fleetctl's engine vs pgloader (Debian's), into fresh
# databases on the same throw-away PostgreSQL 15, same run.
#   scripts/bench-migrate.sh [ROWS]        default 1000000
# Prints a Markdown section for docs/BENCHMARKS.md ("migration") on stdout;
# details go to stderr. Installs pgloader (not in CI) if it is missing.
set -euo pipefail
rows=${1:-1000000}
root=$(cd "$(dirname "$0")/.." && pwd)
pgbin=/usr/lib/postgresql/15/bin
go=${GO:-go}

command -v pgloader >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgloader >/dev/null; }
[ -x "$pgbin/pg_ctl" ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null; }
[ -x /usr/bin/time ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null; }

work=$(mktemp -d /tmp/fleetctl-bench-migrate.XXXXXX)
chown postgres: "$work"
pgrun() { runuser -u postgres -- "$@"; }
cleanup() { pgrun "$pgbin/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$work"; }
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
psql -d postgres -c "CREATE DATABASE fleetctl_bench" -c "CREATE DATABASE pgloader_bench"
url() { echo "postgresql://postgres:bench@127.0.0.1:$port/$1"; }

(cd "$root" && CGO_ENABLED=0 "$go" build -o "$work/owui-fixture" ./cmd/owui-fixture)
"$work/owui-fixture" generate -o "$work/webui.db" -rows "$rows" -chat-json 800 > "$work/fixture.json"
size=$(stat -c %s "$work/webui.db")
srcsha=$(sha256sum "$work/webui.db" | cut -d' ' -f1)
total=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rows"])' "$work/fixture.json")
echo "fixture: $total rows, $size bytes" >&2

measure() { # name cmd... → wall seconds and peak RSS (kB) into $work/NAME.time
  local name=$1; shift
  /usr/bin/time -v -o "$work/$name.time" "$@" > "$work/$name.out" 2> "$work/$name.err" || echo "$name exited $?" >&2
}
field() { grep "$2" "$work/$1.time" | awk -F': ' '{print $2}'; }
secs() { field "$1" 'Elapsed (wall clock)' | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }'; }

# fleetctl: copy + verify (counts and checksums of every table) in one transaction.
PGURL=$(url fleetctl_bench) measure fleetctl "$work/owui-fixture" migrate -sqlite "$work/webui.db" -url-env PGURL -report "$work/report.json"
# pgloader: Debian's defaults, with a heap big enough for this size (it dies at its default).
cat > "$work/load.lisp" <<LISP
LOAD DATABASE FROM sqlite://$work/webui.db INTO $(url pgloader_bench)
 WITH include drop, create tables, create indexes, reset sequences
 SET work_mem to '64MB', maintenance_work_mem to '256MB';
LISP
measure pgloader pgloader --dynamic-space-size 4096 "$work/load.lisp"
[ "$(sha256sum "$work/webui.db" | cut -d' ' -f1)" = "$srcsha" ] || echo "WARNING: source file changed" >&2

counts() { psql -d "$1" -c "SELECT string_agg(format('%s=%s', table_name, (xpath('/row/c/text()', query_to_xml(format('select count(*) as c from %I', table_name), false, true, '')))[1]::text), ' ' ORDER BY table_name) FROM information_schema.tables WHERE table_schema='public'"; }
fc=$(counts fleetctl_bench); pc=$(counts pgloader_bench)
nul_pg=$(psql -d pgloader_bench -c "SELECT count(*) FROM chat_message WHERE content = 'before'" 2>/dev/null || echo "?")
nul_fc=$(psql -d fleetctl_bench -c "SELECT count(*) FROM chat_message WHERE content LIKE 'beforeafter %'")
fs=$(secs fleetctl); ps=$(secs pgloader)
sum() { echo "$1" | tr ' ' '\n' | awk -F= '$1!="alembic_version"{s+=$2} END{print s+0}'; }
fsum=$(sum "$fc"); psum=$(sum "$pc")
pstat=$(field pgloader 'Exit status')
fr=$(field fleetctl 'Maximum resident'); pr=$(field pgloader 'Maximum resident')
alter=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("; ".join("%s.%s %s: %d" % (t["name"], a["column"], a["kind"], a["count"]) for t in r["tables"] for a in (t.get("alterations") or [])))' "$work/report.json")
ok=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("verified:" if r["ok"] else "NOT verified:", sum(1 for t in r["tables"] if t["verified"]), "of", len(r["tables"]), "tables verified; copy", round(r["durations"]["copy"],2), "s, verify", round(r["durations"]["verify"],2), "s")' "$work/report.json")

cat <<MD
## migration

SQLite → PostgreSQL 15 (Debian), $(nproc) cores, $(date -u +%Y-%m-%d). Fixture: \`owui-fixture generate -rows $rows -chat-json 800\`
($total rows, $((size/1000000)) MB, Open WebUI-shaped: chats with large JSON, chat_message, messages with ns timestamps,
NUL bytes, emoji, invalid JSON, 0/1 booleans, empty dates). Both tools load fresh databases on the same throw-away
server (fsync off), one after the other; each creates its own tables. \`scripts/bench-migrate.sh\` (\`make bench-migrate\`).

| tool | wall time | rows/s | peak RSS | result |
|---|---|---|---|---|
| fleetctl engine (copy **and** verify) | ${fs} s | $(python3 -c "print(round($total/$fs))") | $((fr/1024)) MB | $ok; $fsum rows in the target (without alembic_version) |
| pgloader $(pgloader --version 2>/dev/null | head -1 | awk '{print $3}') (4 GB heap) | ${ps} s | $(python3 -c "print(round($total/$ps))") | $((pr/1024)) MB | exit status $pstat; $psum rows in the target (without alembic_version) |

Ratio fleetctl / pgloader: $(python3 -c "print(round($fs/$ps,2))")× (target ≤ 0.7×); fleetctl peak RSS target < 200 MB.

Rows per table after each tool:

- fleetctl: $fc
- pgloader: $pc

Alterations fleetctl reported: $alter.
chat_message rows with the NUL case ("before\\0after ..."): fleetctl kept $nul_fc as "beforeafter ..." (only the NUL removed);
pgloader left $nul_pg of them cut to "before" at the NUL.
MD
grep -h "Elapsed\|Maximum resident\|Exit status" "$work"/*.time >&2; echo "pgloader stderr tail:" >&2; tail -25 "$work/pgloader.err" >&2 || true
tail -3 "$work/fleetctl.err" >&2 || true
