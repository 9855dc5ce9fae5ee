package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestHostsBench measures a no-op plan over 3 hosts × 30 clients against
// the same plan of each host alone (scripts/bench-hosts.sh runs it; it is
// skipped otherwise): with the hosts observed in parallel, the wall time
// should be near the slowest host's, not the sum. It prints a Markdown
// report; it asserts no figure.
func TestHostsBench(t *testing.T) {
	if os.Getenv("FLEETCTL_BENCH_HOSTS") != "1" {
		t.Skip("benchmark: set FLEETCTL_BENCH_HOSTS=1 (make bench)")
	}
	const perHost, rounds = 30, 11
	ds := startHosts(t, 3)
	f := newTestFleet(t, 3*perHost)
	cs := f.clients()
	for i := range cs {
		cs[i].extra = fmt.Sprintf("    host: %s\n", ds[i/perHost].Name)
	}
	f.write(cs, "")
	f.writeHosts(ds, "")
	start := time.Now()
	f.mustApply()
	cold := time.Since(start)

	// One file per host: the same fleet, that host and its clients only.
	files := make([]string, len(ds))
	for h, d := range ds {
		sub := &testFleet{t: t, name: f.name, dir: f.dir, file: filepath.Join(f.dir, "fleet-"+d.Name+".yaml"), seed: f.seed}
		sub.write(cs[h*perHost:(h+1)*perHost], "")
		sub.writeHosts(ds[h:h+1], "")
		files[h] = sub.file
	}
	plan := func(file string) time.Duration {
		sub := *f
		sub.file = file
		t0 := time.Now()
		r := sub.run("plan", "--detailed-exitcode")
		d := time.Since(t0)
		if r.code != 0 {
			t.Fatalf("plan %s: exit %d\n%s", filepath.Base(file), r.code, r.all())
		}
		return d
	}
	var all []time.Duration
	per := make([][]time.Duration, len(ds))
	for i := 0; i < rounds; i++ { // alternating, so load hits every series alike
		all = append(all, plan(f.file))
		for h := range ds {
			per[h] = append(per[h], plan(files[h]))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "No-op plan over %d hosts x %d clients (medians of %d, alternating; cold apply of all %d clients took %.1f s)\n\n",
		len(ds), perHost, rounds, len(cs), cold.Seconds())
	b.WriteString("| plan | median |\n|---|---|\n")
	wall := median(all)
	var sum, slowest time.Duration
	for h := range ds {
		m := median(per[h])
		sum += m
		slowest = max(slowest, m)
		fmt.Fprintf(&b, "| host %s alone (%d clients) | %.0f ms |\n", ds[h].Name, perHost, ms(m))
	}
	fmt.Fprintf(&b, "| sum of the three | %.0f ms |\n", ms(sum))
	fmt.Fprintf(&b, "| **all three hosts in one plan** | **%.0f ms** |\n\n", ms(wall))
	fmt.Fprintf(&b, "wall / slowest host = %.2f; wall / sum = %.2f\n", float64(wall)/float64(slowest), float64(wall)/float64(sum))
	fmt.Print("\n" + b.String())
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
