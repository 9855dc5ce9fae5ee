#!/usr/bin/env bash
# Rollout of a new image to 20 stand-in clients, side by side:
#   fleetctl apply: a rollout (canary first, then at most maxParallel at a
#     time, each replacement stop-first and health-gated), maxParallel 2 and 4
#   Docker Compose v5.5.0 up -d with the changed image (recreates every
#     service at once, no health gate, no canary): the anchor
#   the old scripts' way: docker stop, docker rm, docker run, one client after
#     the other (what operators ran by hand)
# Two images with distinct IDs (built FROM the stand-in) alternate, so every
# round changes the image of every client. ROUNDS rounds, the tools alternating
# within a round; medians and ratios against Compose v5 of the same run are
# printed and written to .bench/rollout.md.
# Usage: bench-rollout.sh FLEETCTL [CLIENTS] [ROUNDS]
# Environment: STANDIN (default fleetctl/webui-standin:dev), COMPOSE_V5.
set -euo pipefail
fleetctl=$(realpath "$1") n=${2:-20} rounds=${3:-3}
image=${STANDIN:-fleetctl/webui-standin:dev}
compose_v5=${COMPOSE_V5:-$(cd "$(dirname "$0")/../.." && pwd)/shared/tools/compose-v5}
[ -x "$compose_v5" ] || { echo "Docker Compose v5 not found at $compose_v5 (set COMPOSE_V5)" >&2; exit 1; }
work=$(mktemp -d) out=.bench/rollout.md
mkdir -p .bench
fleet=benchroll-$$ project=benchroll$$ legacy=benchrolllegacy$$
repo=${image%:*}
img_a=$repo:bench-rollout-a-$$ img_b=$repo:bench-rollout-b-$$
base=$((20000 + RANDOM % 20000))

cleanup() {
  local ids vols
  mapfile -t ids < <(docker ps -aq --filter "label=io.fleetctl.fleet=$fleet"
    docker ps -aq --filter "label=com.docker.compose.project=$project"
    docker ps -aq --filter "label=bench.legacy=$legacy")
  if [ "${#ids[@]}" -gt 0 ]; then docker rm -f "${ids[@]}" >/dev/null 2>&1 || true; fi
  mapfile -t vols < <(docker volume ls -q --filter "label=io.fleetctl.fleet=$fleet"
    docker volume ls -q --filter "label=com.docker.compose.project=$project"
    docker volume ls -q --filter "name=$legacy-")
  if [ "${#vols[@]}" -gt 0 ]; then docker volume rm -f "${vols[@]}" >/dev/null 2>&1 || true; fi
}
trap 'cleanup; docker rmi -f "$img_a" "$img_b" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

for v in a b; do
  mkdir -p "$work/img-$v"
  printf 'FROM %s\nLABEL bench.rollout.variant=%s-%s\n' "$image" "$v" "$$" > "$work/img-$v/Dockerfile"
  docker build -q -t "$repo:bench-rollout-$v-$$" "$work/img-$v" >/dev/null
done

head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$work/seed"
fleet_yaml() { # IMAGE MAXPARALLEL
  printf "apiVersion: fleetctl/v1\nfleet: %s\nsecretKeySeed: \${file:./seed}\n" "$fleet"
  printf 'rollout:\n  canary: 1\n  maxParallel: %d\n' "$2"
  printf 'defaults:\n  image: %s\n  pullPolicy: never\n  healthCheck:\n    interval: 100ms\n' "$1"
  printf '  naming:\n    container: "{fleet}-{client}"\n    volume: "{fleet}-{client}-data"\n'
  printf 'clients:\n'
  for i in $(seq 1 "$n"); do
    printf '  - name: client-%02d\n    port: %d\n    domain: c%d.example.com\n    displayName: Client %d\n' "$i" $((base + i)) "$i" "$i"
  done
}
compose_yaml() { # IMAGE
  printf 'services:\n'
  for i in $(seq 1 "$n"); do
    printf '  client-%02d:\n    image: %s\n    container_name: cmp-%s-client-%02d\n    restart: unless-stopped\n' "$i" "$1" "$project" "$i"
    printf '    ports: ["127.0.0.1:%d:8080"]\n' $((base + 1000 + i))
    printf '    environment:\n      WEBUI_NAME: "Client %d"\n      WEBUI_SECRET_KEY: k%d\n' "$i" "$i"
    printf '    volumes: ["data-%02d:/app/backend/data"]\n' "$i"
  done
  printf 'volumes:\n'
  for i in $(seq 1 "$n"); do printf '  data-%02d: {}\n' "$i"; done
}
legacy_run() { # IMAGE I
  docker run -d --name "$legacy-$2" --label "bench.legacy=$legacy" -p "127.0.0.1:$((base + 2000 + $2)):8080" \
    -v "$legacy-$2-data:/app/backend/data" -e "WEBUI_NAME=QuantaBase - client-$2" --restart unless-stopped "$1" >/dev/null
}
legacy_rollout() { # IMAGE
  for i in $(seq 1 "$n"); do
    docker stop "$legacy-$i" >/dev/null && docker rm "$legacy-$i" >/dev/null && legacy_run "$1" "$i"
  done
}

now() { date +%s.%N; }
time_cmd() { local t0; t0=$(now); "$@" >/dev/null 2>&1 || { echo "FAILED: $*" >&2; "$@" >&2 || true; exit 1; }; awk -v a="$(now)" -v b="$t0" 'BEGIN {printf "%.3f\n", a - b}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f", m}'; }
fapply() { "$fleetctl" apply -f "$work/fleet.yaml" --auto-approve --parallelism 8; }
compose5() { "$compose_v5" -p "$project" -f "$work/docker-compose.yml" "$@"; }

# Everything starts on image a.
cleanup
fleet_yaml "$img_a" 2 > "$work/fleet.yaml"
fapply >/dev/null
compose_yaml "$img_a" > "$work/docker-compose.yml"
compose5 up -d >/dev/null 2>&1
for i in $(seq 1 "$n"); do legacy_run "$img_a" "$i"; done

declare -a f2 f4 v5 old
cur=$img_a
for r in $(seq 1 "$rounds"); do
  for par in 2 4; do
    if [ "$cur" = "$img_a" ]; then cur=$img_b; else cur=$img_a; fi
    fleet_yaml "$cur" "$par" > "$work/fleet.yaml"
    t=$(time_cmd fapply)
    if [ "$par" = 2 ]; then f2+=("$t"); else f4+=("$t"); fi
  done
  # compose and the old way change image once per round, alternating too.
  next=$img_b; [ "$(( r % 2 ))" = 0 ] && next=$img_a
  compose_yaml "$next" > "$work/docker-compose.yml"
  v5+=("$(time_cmd compose5 up -d)")
  old+=("$(time_cmd legacy_rollout "$next")")
  echo "round $r: fleetctl maxParallel 2 ${f2[-1]}s, 4 ${f4[-1]}s | compose-v5 ${v5[-1]}s | old scripts ${old[-1]}s" >&2
done

med() { printf '%s\n' "$@" | median; }
m2=$(med "${f2[@]}") m4=$(med "${f4[@]}") mv=$(med "${v5[@]}") mo=$(med "${old[@]}")
{
  echo "| rollout of a new image, $n clients, median of $rounds | wall time | ratio to Compose v5 |"
  echo "|---|---|---|"
  echo "| Compose v5.5.0 \`up -d\` (all at once, no health gate, no canary) | ${mv} s | 1.00× |"
  echo "| fleetctl apply, canary 1, maxParallel 2 (stop-first, health-gated) | ${m2} s | $(ratio "$m2" "$mv")× |"
  echo "| fleetctl apply, canary 1, maxParallel 4 | ${m4} s | $(ratio "$m4" "$mv")× |"
  echo "| old scripts: docker stop, rm, run, one client after the other (no health gate) | ${mo} s | $(ratio "$mo" "$mv")× |"
} | tee "$out"
