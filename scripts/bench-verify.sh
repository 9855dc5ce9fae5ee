#!/bin/sh
# Cost of verifying running containers by inspect (plan's default) against
# trusting their labels (plan --trust-labels), for 20 and 100 clients on the
# stand-in image, in the same run: medians of 11 no-op plans each,
# alternating. Prints a Markdown table (docs/BENCHMARKS.md, "Drift verify").
#   scripts/bench-verify.sh [path/to/fleetctl] [sizes...]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/bin/fleetctl}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
[ $# -gt 0 ] && shift
sizes=${*:-20 100}
image=${STANDIN:-fleetctl/webui-standin:dev}
runs=11
work=$(mktemp -d)
fleet=bench-verify-$$
base=$((51000 + $$ % 9000))
cleanup() {
	ids=$(docker ps -aq --filter "label=io.fleetctl.fleet=$fleet")
	# shellcheck disable=SC2086 # one ID per word
	[ -n "$ids" ] && docker rm -f $ids >/dev/null
	vols=$(docker volume ls -q --filter "label=io.fleetctl.fleet=$fleet")
	# shellcheck disable=SC2086 # one name per word
	[ -n "$vols" ] && docker volume rm -f $vols >/dev/null
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

now_ms() { date +%s%3N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/seed"
echo "| clients | plan (verify by inspect), ms | plan --trust-labels, ms | ratio |"
echo "|---|---|---|---|"
for n in $sizes; do
	{
		# shellcheck disable=SC2016 # a secret reference, written as is
		printf 'apiVersion: fleetctl/v1\nfleet: %s\nsecretKeySeed: ${file:./seed}\n' "$fleet"
		printf 'defaults:\n  image: %s\n  pullPolicy: never\n  restartPolicy: "no"\n' "$image"
		printf '  naming:\n    container: "{fleet}-{client}"\n    volume: "{fleet}-{client}-data"\nclients:\n'
		i=0
		while [ $i -lt "$n" ]; do
			printf '  - name: c%d\n    port: %d\n' $i $((base + i))
			i=$((i + 1))
		done
	} >"$work/fleet.yaml"
	# Another fleet on the engine may hold a port: those clients are left out.
	"$bin" apply -f "$work/fleet.yaml" --auto-approve --parallelism 8 >"$work/apply.log" 2>&1 ||
		tail -2 "$work/apply.log" >&2
	"$bin" plan -f "$work/fleet.yaml" >/dev/null 2>&1 || true
	: >"$work/v"
	: >"$work/t"
	r=0
	while [ $r -lt $runs ]; do
		s=$(now_ms); "$bin" plan -f "$work/fleet.yaml" >/dev/null || true; e=$(now_ms); echo $((e - s)) >>"$work/v"
		s=$(now_ms); "$bin" plan -f "$work/fleet.yaml" --trust-labels >/dev/null || true; e=$(now_ms); echo $((e - s)) >>"$work/t"
		r=$((r + 1))
	done
	v=$(median <"$work/v")
	t=$(median <"$work/t")
	echo "| $n | $v | $t | $(awk -v a="$v" -v b="$t" 'BEGIN {printf "%.2f", a / b}') |"
done
