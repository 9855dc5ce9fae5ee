#!/usr/bin/env bash
# Benchmark: SQLite → PostgreSQL migration of Open WebUI v0.11.0's real schema
# (all 43 tables, filled by owui-fixture generate -schema v0.11.0) at ROWS and
# at twice ROWS, fleetctl's engine vs pgloader (Debian's), into fresh
# databases on the same throw-away PostgreSQL 15, same run. fleetctl copies
# into the application's own PostgreSQL schema (its 18 foreign keys and
# unique indexes in force, as after the schema step); pgloader creates its
# own tables.
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
url() { echo "postgresql://postgres:bench@127.0.0.1:$port/$1"; }

(cd "$root" && CGO_ENABLED=0 "$go" build -o "$work/owui-fixture" ./cmd/owui-fixture)

measure() { # name cmd... → wall seconds and peak RSS (kB) into $work/NAME.time
  local name=$1; shift
  /usr/bin/time -v -o "$work/$name.time" "$@" > "$work/$name.out" 2> "$work/$name.err" || echo "$name exited $?" >&2
}
field() { grep "$2" "$work/$1.time" | awk -F': ' '{print $2}'; }
secs() { field "$1" 'Elapsed (wall clock)' | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }'; }
counts() { psql -d "$1" -c "SELECT string_agg(format('%s=%s', table_name, (xpath('/row/c/text()', query_to_xml(format('select count(*) as c from %I', table_name), false, true, '')))[1]::text), ' ' ORDER BY table_name) FROM information_schema.tables WHERE table_schema='public' AND table_type='BASE TABLE'"; }
sum() { echo "$1" | tr ' ' '\n' | awk -F= '$1!="alembic_version" && $1!="config"{s+=$2} END{print s+0}'; }

rowsmd=""; details=""
for mult in 1 2; do
  n=$((rows * mult)); tag="x$mult"
  db="$work/webui-$tag.db"
  "$work/owui-fixture" generate -schema v0.11.0 -o "$db" -rows "$n" -chat-json 800 > "$work/fixture-$tag.json"
  size=$(stat -c %s "$db")
  srcsha=$(sha256sum "$db" | cut -d' ' -f1)
  total=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rows"])' "$work/fixture-$tag.json")
  echo "fixture $tag: $total rows, $size bytes" >&2
  psql -d postgres -c "CREATE DATABASE fleetctl_$tag" -c "CREATE DATABASE pgloader_$tag"
  # The application's schema, as its first start creates it (the schema step).
  PGURL=$(url "fleetctl_$tag") "$work/owui-fixture" schema -url-env PGURL
  # fleetctl: copy + verify (counts and checksums of every table) in one transaction.
  PGURL=$(url "fleetctl_$tag") measure "fleetctl-$tag" "$work/owui-fixture" migrate -sqlite "$db" -url-env PGURL -report "$work/report-$tag.json"
  # pgloader: Debian's defaults, with a heap big enough for this size (it dies at its default).
  cat > "$work/load-$tag.lisp" <<LISP
LOAD DATABASE FROM sqlite://$db INTO $(url "pgloader_$tag")
 WITH include drop, create tables, create indexes, reset sequences
 SET work_mem to '64MB', maintenance_work_mem to '256MB';
LISP
  measure "pgloader-$tag" pgloader --dynamic-space-size 4096 "$work/load-$tag.lisp"
  [ "$(sha256sum "$db" | cut -d' ' -f1)" = "$srcsha" ] || echo "WARNING: source file changed" >&2
  fc=$(counts "fleetctl_$tag"); pc=$(counts "pgloader_$tag")
  fs=$(secs "fleetctl-$tag"); ps=$(secs "pgloader-$tag")
  fsum=$(sum "$fc"); psum=$(sum "$pc")
  pstat=$(field "pgloader-$tag" 'Exit status')
  fr=$(field "fleetctl-$tag" 'Maximum resident'); pr=$(field "pgloader-$tag" 'Maximum resident')
  fk=$(psql -d "fleetctl_$tag" -c "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND convalidated AND connamespace = 'public'::regnamespace")
  pk=$(psql -d "pgloader_$tag" -c "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace")
  nul_fc=$(psql -d "fleetctl_$tag" -c "SELECT count(*) FROM chat WHERE title LIKE 'beforeafter %'")
  nul_pg=$(psql -d "pgloader_$tag" -c "SELECT count(*) FROM chat WHERE title = 'before'" 2>/dev/null || echo "?")
  ok=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("verified:" if r["ok"] else "NOT verified:", sum(1 for t in r["tables"] if t["verified"]), "of", len(r["tables"]), "tables (alembic_version is kept by the app); copy", round(r["durations"]["copy"],2), "s, verify", round(r["durations"]["verify"],2), "s")' "$work/report-$tag.json")
  alter=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("; ".join("%s.%s %s: %d" % (t["name"], a["column"], a["kind"], a["count"]) for t in r["tables"] for a in (t.get("alterations") or [])))' "$work/report-$tag.json")
  rowsmd+="| ${mult}× ($total rows, $((size/1000000)) MB) | ${fs} s, $((fr/1024)) MB | ${ps} s, $((pr/1024)) MB | **$(python3 -c "print(round($fs/$ps,2))")×** | $ok; $fsum rows, $fk FKs validated | exit $pstat; $psum rows, $pk FKs |"$'\n'
  details+="- ${mult}×: fleetctl $fc"$'\n'"- ${mult}×: pgloader $pc"$'\n'"- ${mult}×: fleetctl alterations: $alter; chat titles with a NUL kept as \"beforeafter ...\": $nul_fc (pgloader: $nul_pg cut to \"before\")"$'\n'
  psql -d postgres -c "DROP DATABASE fleetctl_$tag" -c "DROP DATABASE pgloader_$tag"
  rm -f "$db"
done

cat <<MD
## migration

SQLite → PostgreSQL 15 (Debian), $(nproc) cores, $(date -u +%Y-%m-%d), load average $(cut -d' ' -f1 /proc/loadavg) at the end.
Fixture: \`owui-fixture generate -schema v0.11.0 -rows N -chat-json 800\`: Open WebUI v0.11.0's real SQLite schema (43
tables from \`pkg/openwebui\`, every one filled; chat_message about half the rows; JSON content, nanosecond timestamps,
NUL bytes, emoji, invalid JSON, a 2 in a boolean, empty dates). fleetctl copies into the application's own PostgreSQL
schema (\`owui-fixture schema\`: 18 foreign keys and the unique indexes in force during the copy), pgloader creates its
own tables; fresh databases on the same throw-away server (fsync off), one tool after the other, one run.
\`scripts/bench-migrate.sh\` (\`make bench-migrate\`).

| size | fleetctl engine (copy **and** verify): wall, peak RSS | pgloader (4 GB heap): wall, peak RSS | ratio | fleetctl result | pgloader result |
|---|---|---|---|---|---|
$rowsmd
Rows per table (alembic_version and config, which the application writes itself, left out of the sums):

$details
MD
grep -h "Elapsed\|Maximum resident\|Exit status" "$work"/*.time >&2; echo "pgloader stderr tail:" >&2; tail -25 "$work"/pgloader-x1.err >&2 || true
