#!/usr/bin/env bash
# Side-by-side benchmark: fleetctl vs Docker Compose v5 (the Go rewrite users
# run today) and Debian's docker-compose 1.29, on 20 stand-in clients.
#   cold:  fleetctl apply (health-gated) vs compose up -d, on an empty host
#   no-op: fleetctl plan  vs compose up -d, with everything up to date
# Each is run ROUNDS times, the tools alternating within a round; medians and
# ratios (fleetctl / each compose) are printed and written to .bench/compose.md.
# Usage: bench-compose.sh FLEETCTL [CLIENTS] [ROUNDS]
# Environment: STANDIN (image, default fleetctl/webui-standin:dev),
#   COMPOSE_V5 (default ../shared/tools/compose-v5 next to the checkout),
#   BASELINE (another fleetctl binary, say the one before a change: timed in
#   the same rounds, so a loaded machine still gives a fair before/after).
set -euo pipefail
fleetctl=$(realpath "$1") n=${2:-20} rounds=${3:-5}
baseline=${BASELINE:+$(realpath "$BASELINE")}
image=${STANDIN:-fleetctl/webui-standin:dev}
compose_v5=${COMPOSE_V5:-$(cd "$(dirname "$0")/../.." && pwd)/shared/tools/compose-v5}
[ -x "$compose_v5" ] || { echo "Docker Compose v5 not found at $compose_v5 (set COMPOSE_V5)" >&2; exit 1; }
work=$(mktemp -d) out=.bench/compose.md
mkdir -p .bench
fleet=bench-$$ project=benchcompose$$
# Ports below the ephemeral range (32768+, where other processes' outgoing
# connections land), and none of them listened on now: the machine is shared.
pick_base() {
  local b p busy
  for _ in $(seq 1 50); do
    b=$((20000 + RANDOM % (32768 - 20000 - 1000 - n - 1)))
    busy=$(ss -Hltn 2>/dev/null | awk '{print $4}' | sed 's/.*://' | sort -u)
    for p in $(seq $((b + 1)) $((b + n))) $(seq $((b + 1001)) $((b + 1000 + n))); do
      if grep -qx "$p" <<<"$busy"; then continue 2; fi
    done
    echo "$b"
    return
  done
  echo "no free port range found" >&2
  exit 1
}
base=$(pick_base)

# cleanup [fleet|all]: remove the fleet's containers and volumes (and, with
# all, the compose project's).
cleanup() {
  # One filter per call: several label filters in one call are ANDed.
  local ids vols filters=("label=io.fleetctl.fleet=$fleet")
  [ "${1:-all}" = fleet ] || filters+=("label=com.docker.compose.project=$project")
  mapfile -t ids < <(for f in "${filters[@]}"; do docker ps -aq --filter "$f"; done)
  if [ "${#ids[@]}" -gt 0 ]; then docker rm -f "${ids[@]}" >/dev/null 2>&1 || true; fi
  mapfile -t vols < <(for f in "${filters[@]}"; do docker volume ls -q --filter "$f"; done)
  if [ "${#vols[@]}" -gt 0 ]; then docker volume rm -f "${vols[@]}" >/dev/null 2>&1 || true; fi
}
trap 'cleanup; docker network rm "${project}_default" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$work/seed"
{
  printf "apiVersion: fleetctl/v1\nfleet: %s\nsecretKeySeed: \${file:./seed}\n" "$fleet"
  printf 'defaults:\n  image: %s\n  pullPolicy: never\n  healthCheck:\n    interval: 100ms\n' "$image"
  # Namespaced names: never collide with another fleet on the host.
  printf '  naming:\n    container: "{fleet}-{client}"\n    volume: "{fleet}-{client}-data"\n'
  printf 'clients:\n'
  for i in $(seq 1 "$n"); do
    printf '  - name: client-%02d\n    port: %d\n    domain: c%d.example.com\n    displayName: Client %d\n' "$i" $((base + i)) "$i" "$i"
  done
} > "$work/fleet.yaml"
{
  printf 'version: "3.7"\nservices:\n'
  for i in $(seq 1 "$n"); do
    printf '  client-%02d:\n    image: %s\n    container_name: cmp-%s-client-%02d\n    restart: unless-stopped\n' "$i" "$image" "$project" "$i"
    printf '    ports: ["127.0.0.1:%d:8080"]\n' $((base + 1000 + i))
    printf '    environment:\n      WEBUI_NAME: "Client %d"\n      WEBUI_URL: https://c%d.example.com\n      WEBUI_SECRET_KEY: k%d\n' "$i" "$i" "$i"
    printf '    volumes: ["data-%02d:/app/backend/data"]\n' "$i"
  done
  printf 'volumes:\n'
  for i in $(seq 1 "$n"); do printf '  data-%02d: {}\n' "$i"; done
} > "$work/docker-compose.yml"

now() { date +%s.%N; }
time_cmd() { local t0; t0=$(now); "$@" >/dev/null 2>&1 || { echo "FAILED: $*" >&2; "$@" >&2 || true; exit 1; }; awk -v a="$(now)" -v b="$t0" 'BEGIN {printf "%.3f\n", a - b}'; }
ratio() { awk -v a="$1" -v b="$2" -v f="$3" 'BEGIN {printf f, a / b}'; }
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f", m}'; }
compose1() { docker-compose -p "$project" -f "$work/docker-compose.yml" "$@"; }
compose5() { "$compose_v5" -p "$project" -f "$work/docker-compose.yml" "$@"; }
# The plan exits 0 (no changes) in the no-op case; --detailed-exitcode makes
# any change or problem a failure of the benchmark.
plan_noop() { "${1:-$fleetctl}" plan -f "$work/fleet.yaml" --detailed-exitcode; }
# A loaded engine sometimes refuses to remove the network at once ("has
# active endpoints"): try again, then go on (up -d reuses it).
compose5_down() {
  local i
  for i in 1 2 3; do
    compose5 down -v >/dev/null 2>&1 && return 0
    sleep 1
  done
  echo "warning: compose-v5 down -v failed 3 times; going on" >&2
  cleanup
}

declare -a f_cold v5_cold v1_cold f_noop v5_noop v1_noop b_cold b_noop
for r in $(seq 1 "$rounds"); do
  cleanup
  f_cold+=("$(time_cmd "$fleetctl" apply -f "$work/fleet.yaml" --auto-approve --parallelism 8)")
  v5_cold+=("$(time_cmd compose5 up -d)")
  f_noop+=("$(time_cmd plan_noop)")
  v5_noop+=("$(time_cmd compose5 up -d)")
  compose5_down
  base_note=""
  if [ -n "$baseline" ]; then
    cleanup fleet
    b_cold+=("$(time_cmd "$baseline" apply -f "$work/fleet.yaml" --auto-approve --parallelism 8)")
    b_noop+=("$(time_cmd plan_noop "$baseline")")
    base_note=" | baseline cold ${b_cold[-1]}s no-op ${b_noop[-1]}s"
  fi
  v1_cold+=("$(time_cmd compose1 up -d)")
  v1_noop+=("$(time_cmd compose1 up -d)")
  echo "round $r: cold fleetctl ${f_cold[-1]}s compose-v5 ${v5_cold[-1]}s compose-1.29 ${v1_cold[-1]}s | no-op fleetctl ${f_noop[-1]}s compose-v5 ${v5_noop[-1]}s compose-1.29 ${v1_noop[-1]}s$base_note" >&2
done

med() { printf '%s\n' "$@" | median; }
fc=$(med "${f_cold[@]}") v5c=$(med "${v5_cold[@]}") v1c=$(med "${v1_cold[@]}")
fn=$(med "${f_noop[@]}") v5n=$(med "${v5_noop[@]}") v1n=$(med "${v1_noop[@]}")
{
  echo "| $n clients, median of $rounds | fleetctl | Compose v5.5.0 | ratio | docker-compose $(docker-compose version --short 2>/dev/null) | ratio |"
  echo "|---|---|---|---|---|---|"
  echo "| cold (fleetctl health-gated; compose up -d) | ${fc} s | ${v5c} s | $(ratio "$fc" "$v5c" '%.2f')× | ${v1c} s | $(ratio "$fc" "$v1c" '%.2f')× |"
  echo "| no-op (fleetctl plan; compose up -d) | ${fn} s | ${v5n} s | $(ratio "$fn" "$v5n" '%.3f')× | ${v1n} s | $(ratio "$fn" "$v1n" '%.3f')× |"
  if [ -n "$baseline" ]; then
    bc=$(med "${b_cold[@]}") bn=$(med "${b_noop[@]}")
    echo
    echo "| baseline $(basename "$baseline"), same rounds | cold | ratio to Compose v5 | no-op | ratio to Compose v5 |"
    echo "|---|---|---|---|---|"
    echo "| baseline | ${bc} s | $(ratio "$bc" "$v5c" '%.2f')× | ${bn} s | $(ratio "$bn" "$v5n" '%.3f')× |"
    echo "| $(basename "$fleetctl") | ${fc} s | $(ratio "$fc" "$v5c" '%.2f')× | ${fn} s | $(ratio "$fn" "$v5n" '%.3f')× |"
  fi
  echo
  echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$out"
