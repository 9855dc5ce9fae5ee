#!/bin/sh
# Build the fleetctl image (FROM scratch with the static binary; nothing is pulled).
#   scripts/build-image.sh [TAG] [VERSION]   default TAG: fleetctl/fleetctl:dev
# Prints the image ID on stdout. Uses Docker's legacy builder (no buildx here).
set -eu

tag=${1:-fleetctl/fleetctl:dev}
version=${2:-dev}
root=$(cd "$(dirname "$0")/.." && pwd)
go=${GO:-go}

ctx=$(mktemp -d "${TMPDIR:-/tmp}/fleetctl-image.XXXXXX")
trap 'rm -rf "$ctx"' EXIT INT TERM

cp "$root/build/fleetctl/Dockerfile" "$ctx/Dockerfile"
(cd "$root" && CGO_ENABLED=0 GOOS=linux GOARCH="${GOARCH:-$("$go" env GOARCH)}" \
	"$go" build -trimpath -buildvcs=false -ldflags="-s -w -X main.version=$version" -o "$ctx/fleetctl" ./cmd/fleetctl)
touch -h -d '2000-01-01T00:00:00Z' "$ctx/fleetctl" "$ctx/Dockerfile"

if ! out=$(DOCKER_BUILDKIT=0 docker build -q -t "$tag" "$ctx" 2>&1); then
	printf '%s\n' "$out" >&2
	exit 1
fi
docker image inspect --format '{{.Id}}' "$tag"
