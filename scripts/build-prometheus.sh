#!/bin/sh
# Build a local Prometheus image from Debian's prometheus package (nothing is
# pulled): the tests of `monitoring: {deploy: true}` run it in place of
# prom/prometheus.
#   scripts/build-prometheus.sh [TAG]     default TAG: fleetctl/prometheus-local:dev
# Prints the image ID on stdout. Needs /usr/bin/prometheus (apt-get install prometheus).
# Uses Docker's legacy builder (DOCKER_BUILDKIT=0): buildx is not installed here.
set -eu

tag=${1:-fleetctl/prometheus-local:dev}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${PROMETHEUS:-/usr/bin/prometheus}
[ -x "$bin" ] || { echo "build-prometheus: $bin not found (Debian: apt-get install prometheus)" >&2; exit 1; }

ctx=$(mktemp -d "${TMPDIR:-/tmp}/prometheus-build.XXXXXX")
trap 'rm -rf "$ctx"' EXIT INT TERM

fs=$ctx/rootfs
mkdir -p "$fs/bin" "$fs/etc/prometheus" "$fs/prometheus" "$fs/tmp"
cp "$bin" "$fs/bin/prometheus"
# The binary links the C library dynamically: copy each library ldd names,
# at the path the loader looks for it.
ldd "$bin" | awk '{for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i}' | sort -u | while read -r lib; do
	mkdir -p "$fs$(dirname "$lib")"
	cp -L "$lib" "$fs$lib"
done
printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' >"$fs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$fs/etc/group"
printf 'global:\n  scrape_interval: 15s\n' >"$fs/etc/prometheus/prometheus.yml"
cp "$root/build/prometheus/Dockerfile" "$ctx/Dockerfile"
chmod 1777 "$fs/tmp"
# /prometheus is the data volume's mount point: a fresh volume takes its owner.
chmod 0777 "$fs/prometheus"
find "$ctx" -exec touch -h -d '2000-01-01T00:00:00Z' {} +

if ! out=$(DOCKER_BUILDKIT=0 docker build -q -t "$tag" "$ctx" 2>&1); then
	printf '%s\n' "$out" >&2
	exit 1
fi
docker image inspect --format '{{.Id}}' "$tag"
