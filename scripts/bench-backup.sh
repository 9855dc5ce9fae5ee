#!/bin/sh
# Benchmark `fleetctl backup` of a ~320 MB client volume while the client
# serves writes, against `tar czf` of the same volume (the old scripts'
# method), in the same run, alternating, ROUNDS rounds (default 3); then
# restic: a first backup and a second unchanged one; then restore.
# Prints a Markdown report (docs/BENCHMARKS.md, "backup").
#   scripts/bench-backup.sh [path/to/fleetctl] [standin image]
# Needs: the Docker engine (root: tar reads the volume's directory on the
# host, as `docker run alpine tar czf` did through a mount), restic, sqlite3,
# curl, GNU time.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/bin/fleetctl}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
standin=${2:-${STANDIN:-fleetctl/webui-standin:dev}}
rounds=${ROUNDS:-3}
mb=${VOLUME_MB:-320}

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-backup.XXXXXX")
fleet="bb-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
writer=
cleanup() {
	if [ -n "$writer" ]; then kill "$writer" 2>/dev/null || true; fi
	docker ps -aq --filter "label=io.fleetctl.fleet=$fleet" | while read -r id; do docker rm -f "$id" >/dev/null 2>&1 || true; done
	docker volume ls -q --filter "label=io.fleetctl.fleet=$fleet" | while read -r v; do docker volume rm -f "$v" >/dev/null 2>&1 || true; done
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/seed"
printf '%s' "bench-restic-pw" >"$work/restic.pw"
chmod 600 "$work/seed" "$work/restic.pw"
write_spec() { # $1: file, $2: backups block
	cat >"$1" <<YAML
apiVersion: fleetctl/v1
fleet: $fleet
secretKeySeed: \${file:./seed}
defaults:
  image: $standin
  pullPolicy: never
  naming:
    container: "{fleet}-{client}"
    volume: "{fleet}-{client}-data"
$2
clients:
  - name: c0
    port: $port
YAML
}
write_spec "$work/fleet.yaml" "backups:
  dir: $work/local"
write_spec "$work/restic.yaml" "backups:
  restic:
    repository: $work/repo
    password: \${file:./restic.pw}"

"$bin" apply -f "$work/fleet.yaml" --auto-approve >/dev/null
vol="$fleet-c0-data"
data=$(docker volume inspect --format '{{.Mountpoint}}' "$vol")

# The volume: ~70% uploads (half random, half text-like), ~30% database.
up_mb=$((mb * 7 / 10))
mkdir -p "$work/uploads"
i=0
while [ $i -lt $((up_mb / 4)) ]; do
	head -c 2000000 /dev/urandom >"$work/uploads/r$i.bin"
	base64 -w 76 </dev/urandom | head -c 2000000 >"$work/uploads/t$i.txt"
	i=$((i + 1))
done
cp -r "$work/uploads" "$data/uploads"
rm -rf "$work/uploads"
# Database rows through the client itself (~64 KB of text per chat).
body=$(base64 -w 0 </dev/urandom | head -c 60000)
db_target=$((mb * 3000000 / 10))
n=0
while [ "$(du -sb "$data" | cut -f1)" -lt $((up_mb * 1000000 + db_target)) ]; do
	j=0
	while [ $j -lt 200 ]; do
		printf '{"id":"seed-%d","user_id":"u","title":"seed","chat":{"messages":[{"id":"m","role":"user","content":"%s"}]}}' "$n" "$body" >"$work/chat.json"
		curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' --data-binary "@$work/chat.json" "http://127.0.0.1:$port/_standin/chats"
		n=$((n + 1)); j=$((j + 1))
	done
done
size=$(du -sb "$data" | cut -f1)
echo "volume filled: $size bytes" >&2

# Steady write load: one small chat after another, as fast as the client answers.
(
	k=0
	while :; do
		curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' \
			--data "{\"id\":\"load-$k\",\"user_id\":\"u\",\"title\":\"load $k\",\"chat\":{}}" \
			"http://127.0.0.1:$port/_standin/chats" 2>/dev/null || true
		k=$((k + 1))
	done
) &
writer=$!
sleep 1

timed() { # $1: output file for "wall rss" (GNU time's last line); rest: command
	out=$1; shift
	/usr/bin/time -f '%e %M' -o "$out" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; return 1; }
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

: >"$work/tar.t"; : >"$work/fc.t"; : >"$work/fc.rss"; tar_bad=0; tar_changed=0
r=1
while [ "$r" -le "$rounds" ]; do
	# GNU tar exits 1 for "file changed as we read it": the very problem, not a failure here.
	/usr/bin/time -f '%e %M' -o "$work/t" tar czf "$work/old.tgz" -C "$data" . 2>"$work/err" || [ $? -eq 1 ] || { cat "$work/err" >&2; exit 1; }
	tar_changed=$((tar_changed + $(grep -c 'file changed as we read it' "$work/err" || true)))
	tail -n 1 "$work/t" | cut -d' ' -f1 >>"$work/tar.t"
	rm -rf "$work/x" && mkdir "$work/x" && tar xzf "$work/old.tgz" -C "$work/x"
	chk=$(sqlite3 "$work/x/webui.db" 'PRAGMA integrity_check' 2>&1 | head -n 3 | tr '\n' ' ')
	[ "$chk" = "ok " ] || { tar_bad=$((tar_bad + 1)); echo "round $r: tar copy of webui.db: $chk" >&2; }
	rm -rf "$work/x" "$work/old.tgz"
	timed "$work/t" "$bin" backup -f "$work/fleet.yaml" c0
	cut -d' ' -f1 "$work/t" >>"$work/fc.t"
	cut -d' ' -f2 "$work/t" >>"$work/fc.rss"
	r=$((r + 1))
done
arch_size=$(find "$work/local/c0" -name "*.tar.gz" -printf "%s\n" | sort -n | tail -n 1)
tar_med=$(median <"$work/tar.t"); fc_med=$(median <"$work/fc.t"); rss_med=$(median <"$work/fc.rss")

timed "$work/t" "$bin" backup -f "$work/restic.yaml" c0
restic1=$(cut -d' ' -f1 "$work/t")
kill "$writer" 2>/dev/null || true; wait "$writer" 2>/dev/null || true; writer=
timed "$work/t" "$bin" backup -f "$work/restic.yaml" c0
restic2a=$(cut -d' ' -f1 "$work/t")
timed "$work/t" "$bin" backup -f "$work/restic.yaml" c0
restic2b=$(cut -d' ' -f1 "$work/t")
timed "$work/t" "$bin" restore -f "$work/fleet.yaml" c0 latest --auto-approve
restore_t=$(cut -d' ' -f1 "$work/t")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
load=$(cut -d' ' -f1-3 /proc/loadavg)
cat <<MD
### Backup of a $((size / 1000000)) MB client volume while it serves writes ($rounds rounds, alternating, medians)

| what | wall time | ratio |
|---|---|---|
| \`tar czf\` of the volume directory (old scripts' method, not consistent) | ${tar_med} s | 1.00× (anchor) |
| \`fleetctl backup\` to a local directory (consistent copy, integrity_check, stored, read back and verified) | ${fc_med} s | $(ratio "$fc_med" "$tar_med")× |

- \`tar czf\` copies of webui.db that failed \`PRAGMA integrity_check\` under the write load: $tar_bad of $rounds; GNU tar warned "file changed as we read it" $tar_changed times (webui.db, webui.db-wal).
- fleetctl's peak RSS (GNU time, the fleetctl process; the agent runs in the helper container): $((rss_med / 1024)) MB.
- Local archive: $((arch_size / 1000000)) MB (gzip level 1).

| restic (local repository) | wall time | ratio |
|---|---|---|
| first backup (under writes) | ${restic1} s | 1.00× |
| second backup, nothing changed | ${restic2a} s | $(ratio "$restic2a" "$restic1")× |
| third backup, nothing changed | ${restic2b} s | $(ratio "$restic2b" "$restic1")× |

Restore (verify, new volume, extract, health-gated recreate): ${restore_t} s.

Load average at the end of the run: $load ($(nproc) cores).
MD
