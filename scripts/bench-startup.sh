#!/usr/bin/env bash
# Process start-up: `fleetctl version` against a Go hello-world built the
# same way (CGO_ENABLED=0, -trimpath, -ldflags '-s -w', this toolchain), both
# timed by one small Go timer (fork + exec + wait: wall clock, and CPU time),
# alternating,
# ROUNDS runs of each after two warm-up rounds; medians and the ratio of the
# same run. Prints the docs/BENCHMARKS.md rows.
#   scripts/bench-startup.sh [--inittrace] [--breakdown] [path/to/fleetctl] [ROUNDS]
# --inittrace  also lists the heaviest package initialisers (GODEBUG=inittrace=1)
# --breakdown  also times hello-worlds that link one heavy dependency each
#              (blank imports, so only its package initialisation runs)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
trace=0 breakdown=0 pos=()
for a in "$@"; do
	case $a in
	--inittrace) trace=1 ;;
	--breakdown) breakdown=1 ;;
	*) pos+=("$a") ;;
	esac
done
bin=${pos[0]:-$root/bin/fleetctl}
rounds=${pos[1]:-20}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
[ -x "$bin" ] || { echo "no fleetctl binary at $bin (make build)" >&2; exit 1; }
GO=${GO:-go}
build() { CGO_ENABLED=0 $GO build -trimpath -ldflags '-s -w' -o "$@"; }

work=$(mktemp -d "${TMPDIR:-/tmp}/fleetctl-bench-startup.XXXXXX")
# The breakdown's programs live in the module (they need its go.mod).
mods=$root/.bench/startup-$$
trap 'rm -rf "$work" "$mods"' EXIT

mkdir -p "$work/hello" "$work/timer"
cat >"$work/hello/main.go" <<'EOF'
package main

import "fmt"

func main() { fmt.Println("hello, world") }
EOF
printf 'module hello\n\ngo 1.22\n' >"$work/hello/go.mod"

# The timer: runs each command line in turn, ROUNDS times (after two warm-up
# rounds: page cache, CPU frequency), output discarded; prints the median,
# minimum and maximum wall time and the median CPU time (user + system) of
# each, in milliseconds. CPU time is the figure a loaded machine disturbs least.
cat >"$work/timer/main.go" <<'EOF'
package main

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

func main() {
	rounds, _ := strconv.Atoi(os.Args[1])
	cmds := os.Args[2:]
	wall := make([][]float64, len(cmds))
	cpu := make([][]float64, len(cmds))
	for r := 0; r < rounds+2; r++ {
		for i, c := range cmds {
			f := strings.Fields(c)
			cmd := exec.Command(f[0], f[1:]...)
			start := time.Now()
			if err := cmd.Run(); err != nil {
				fmt.Fprintln(os.Stderr, c, err)
				os.Exit(1)
			}
			if r >= 2 {
				ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
				wall[i] = append(wall[i], ms(time.Since(start)))
				cpu[i] = append(cpu[i], ms(cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime()))
			}
		}
	}
	for i, c := range cmds {
		w := wall[i]
		slices.Sort(w)
		fmt.Printf("%s\t%.2f\t%.2f\t%.2f\t%.2f\n", c, median(w), w[0], w[len(w)-1], median(cpu[i]))
	}
}

func median(t []float64) float64 {
	t = slices.Sorted(slices.Values(t))
	if len(t)%2 == 0 {
		return (t[len(t)/2-1] + t[len(t)/2]) / 2
	}
	return t[len(t)/2]
}
EOF
printf 'module timer\n\ngo 1.22\n' >"$work/timer/go.mod"
(cd "$work/hello" && build "$work/hello-world" .)
(cd "$work/timer" && CGO_ENABLED=0 $GO build -o "$work/timer-bin" .)

labels=("Go hello-world (\`fmt.Println\`, same build flags)" "\`fleetctl version\` ($(wc -c <"$bin" | awk '{printf "%.1f MB", $1/1e6}'))")
cmds=("$work/hello-world" "$bin version")
if [ "$breakdown" = 1 ]; then
	# name|label|imports
	parts=(
		"cobra|hello-world + spf13/cobra|github.com/spf13/cobra"
		"docker|hello-world + the Docker SDK client (pulls distribution/reference, go-digest, otel)|github.com/docker/docker/client"
		"prom|hello-world + prometheus/client_golang (pulls protobuf, procfs, expvar)|github.com/prometheus/client_golang/prometheus github.com/prometheus/client_golang/prometheus/promhttp"
		"sqlite|hello-world + modernc.org/sqlite|modernc.org/sqlite"
		"jsonschema|hello-world + santhosh-tekuri/jsonschema/v6|github.com/santhosh-tekuri/jsonschema/v6"
		"rest|hello-world + pgx, yaml.v3, fsnotify, net/http, html/template|github.com/jackc/pgx/v5 gopkg.in/yaml.v3 github.com/fsnotify/fsnotify net/http html/template"
		"all|hello-world + all of the above|github.com/spf13/cobra github.com/docker/docker/client github.com/prometheus/client_golang/prometheus github.com/prometheus/client_golang/prometheus/promhttp modernc.org/sqlite github.com/santhosh-tekuri/jsonschema/v6 github.com/jackc/pgx/v5 gopkg.in/yaml.v3 github.com/fsnotify/fsnotify net/http html/template"
	)
	for p in "${parts[@]}"; do
		IFS='|' read -r name label imports <<<"$p"
		mkdir -p "$mods/$name"
		{
			printf 'package main\n\nimport (\n\t"fmt"\n'
			for i in $imports; do printf '\t_ "%s"\n' "$i"; done
			printf ')\n\nfunc main() { fmt.Println("hello, world") }\n'
		} >"$mods/$name/main.go"
		(cd "$root" && build "$work/$name" "./.bench/startup-$$/$name")
		labels+=("$label")
		cmds+=("$work/$name")
	done
fi

out=$("$work/timer-bin" "$rounds" "${cmds[@]}")
hello=$(awk -F'\t' 'NR==1 {print $2}' <<<"$out")

echo "Measured $(date -u +%Y-%m-%d) with $($GO env GOVERSION), $rounds runs each, alternating; load average $(cut -d' ' -f1-3 /proc/loadavg):"
echo
echo "| process start, median of $rounds | wall time (min–max) | ratio | CPU time (user+sys) | ratio |"
echo "|---|---|---|---|---|"
hcpu=$(awk -F'\t' 'NR==1 {print $5}' <<<"$out")
n=0
while IFS=$'\t' read -r _ med lo hi cpu; do
	ratio=$(awk -v a="$med" -v b="$hello" 'BEGIN {printf "%.2f", a/b}')
	cratio=$(awk -v a="$cpu" -v b="$hcpu" 'BEGIN {printf "%.2f", a/b}')
	label=${labels[$n]}
	if [ "$n" = 1 ]; then
		echo "| $label | **$med ms** ($lo–$hi) | **${ratio}×** | **$cpu ms** | **${cratio}×** |"
	else
		echo "| $label | $med ms ($lo–$hi) | ${ratio}× | $cpu ms | ${cratio}× |"
	fi
	n=$((n + 1))
done <<<"$out"

if [ "$trace" = 1 ]; then
	echo
	echo "Heaviest package initialisers of \`fleetctl version\` (GODEBUG=inittrace=1, mean of 5 runs, ms):"
	echo
	traces=$(for _ in 1 2 3 4 5; do GODEBUG=inittrace=1 "$bin" version 2>&1 >/dev/null; done)
	awk '/^init / {s[$2] += $5 / 5} END {for (k in s) printf "    %.2f %s\n", s[k], k}' <<<"$traces" | sort -rn | head -15
	awk '/^init / {t += $5 / 5; s[$2] = 1} END {printf "    %.2f in all %d initialisers\n", t, length(s)}' <<<"$traces"
fi
