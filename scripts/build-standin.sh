#!/bin/sh
# Build the Open WebUI stand-in image (FROM scratch, nothing is pulled).
#   scripts/build-standin.sh [TAG]     default TAG: fleetctl/webui-standin:dev
# Prints the image ID on stdout. Idempotent: an unchanged tree gives the same ID.
# Uses Docker's legacy builder (DOCKER_BUILDKIT=0): buildx is not installed here.
set -eu

tag=${1:-fleetctl/webui-standin:dev}
root=$(cd "$(dirname "$0")/.." && pwd)
go=${GO:-go}

ctx=$(mktemp -d "${TMPDIR:-/tmp}/webui-standin-build.XXXXXX")
trap 'rm -rf "$ctx"' EXIT INT TERM

mkdir -m 0755 "$ctx/data"
cp "$root/build/standin/Dockerfile" "$ctx/Dockerfile"
(cd "$root" && CGO_ENABLED=0 GOOS=linux GOARCH="${GOARCH:-$("$go" env GOARCH)}" \
	"$go" build -trimpath -buildvcs=false -ldflags='-s -w' -o "$ctx/webui-standin" ./cmd/webui-standin)
# Fixed mtimes: the build context is byte-for-byte the same for the same sources.
touch -h -d '2000-01-01T00:00:00Z' "$ctx/webui-standin" "$ctx/data" "$ctx/Dockerfile"

old=$(docker image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)

# The CLI prints a deprecation notice for the legacy builder: show output only on failure.
if ! out=$(DOCKER_BUILDKIT=0 docker build -q -t "$tag" "$ctx" 2>&1); then
	printf '%s\n' "$out" >&2
	exit 1
fi
new=$(docker image inspect --format '{{.Id}}' "$tag")
# Drop the image this tag replaced, unless something still uses or tags it.
if [ -n "$old" ] && [ "$old" != "$new" ] &&
	[ "$(docker image inspect --format '{{len .RepoTags}}' "$old" 2>/dev/null)" = 0 ]; then
	docker rmi "$old" >/dev/null 2>&1 || true
fi
echo "$new"
