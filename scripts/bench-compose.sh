#!/usr/bin/env bash
# Side-by-side benchmark: fleetctl vs docker-compose on 20 stand-in clients.
#   cold:  fleetctl apply (health-gated) vs docker-compose up -d, on an empty host
#   no-op: fleetctl plan  vs docker-compose up -d, with everything up to date
# Each is run ROUNDS times, alternating tools; medians and ratios are printed
# and written to .bench/compose.md.  Usage: bench-compose.sh FLEETCTL [CLIENTS] [ROUNDS]
set -euo pipefail
fleetctl=$(realpath "$1") n=${2:-20} rounds=${3:-5}
image=fleetctl/webui-standin:dev
work=$(mktemp -d) out=.bench/compose.md
mkdir -p .bench
fleet=bench-$$ project=benchcompose$$
base=$((20000 + RANDOM % 20000))

cleanup() {
  # One filter per call: several label filters in one call are ANDed.
  local ids vols
  mapfile -t ids < <(docker ps -aq --filter "label=io.fleetctl.fleet=$fleet"; docker ps -aq --filter "label=com.docker.compose.project=$project")
  if [ "${#ids[@]}" -gt 0 ]; then docker rm -f "${ids[@]}" >/dev/null 2>&1 || true; fi
  mapfile -t vols < <(docker volume ls -q --filter "label=io.fleetctl.fleet=$fleet"; docker volume ls -q --filter "label=com.docker.compose.project=$project")
  if [ "${#vols[@]}" -gt 0 ]; then docker volume rm -f "${vols[@]}" >/dev/null 2>&1 || true; fi
}
trap 'cleanup; rm -rf "$work"' EXIT

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
compose() { docker-compose -p "$project" -f "$work/docker-compose.yml" "$@"; }

declare -a f_cold c_cold f_noop c_noop
for r in $(seq 1 "$rounds"); do
  cleanup
  f_cold+=("$(time_cmd "$fleetctl" apply -f "$work/fleet.yaml" --auto-approve --parallelism 8)")
  c_cold+=("$(time_cmd compose up -d)")
  f_noop+=("$(time_cmd "$fleetctl" plan -f "$work/fleet.yaml" --detailed-exitcode)")
  c_noop+=("$(time_cmd compose up -d)")
  echo "round $r: cold fleetctl ${f_cold[-1]}s compose ${c_cold[-1]}s | no-op fleetctl ${f_noop[-1]}s compose ${c_noop[-1]}s" >&2
done

fc=$(printf '%s\n' "${f_cold[@]}" | median); cc=$(printf '%s\n' "${c_cold[@]}" | median)
fn=$(printf '%s\n' "${f_noop[@]}" | median); cn=$(printf '%s\n' "${c_noop[@]}" | median)
{
  echo "| $n clients, median of $rounds | fleetctl | docker-compose $(docker-compose version --short 2>/dev/null) | ratio |"
  echo "|---|---|---|---|"
  echo "| cold (fleetctl health-gated) | ${fc} s | ${cc} s | $(ratio "$fc" "$cc" '%.2f')× |"
  echo "| no-op (plan vs up -d) | ${fn} s | ${cn} s | $(ratio "$fn" "$cn" '%.3f')× |"
} | tee "$out"
