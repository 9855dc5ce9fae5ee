package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestWatchBench measures the daemon (scripts/bench-watch.sh runs it; it is
// skipped otherwise): drift repair latency over 20 trials split into
// detection and start-up, edit-to-applied latency, and RSS and CPU at rest
// with 100 clients. It prints a Markdown report; it asserts no figure.
func TestWatchBench(t *testing.T) {
	if os.Getenv("FLEETCTL_BENCH_WATCH") != "1" {
		t.Skip("benchmark: set FLEETCTL_BENCH_WATCH=1 (make bench)")
	}
	var report strings.Builder
	benchDrift(t, &report)
	if os.Getenv("FLEETCTL_BENCH_WATCH_REST") != "0" {
		benchRest(t, &report, 100)
	}
	fmt.Print("\n" + report.String())
	if out := os.Getenv("FLEETCTL_BENCH_OUT"); out != "" {
		_ = os.WriteFile(out, []byte(report.String()), 0o644)
	}
}

func benchDrift(t *testing.T, report *strings.Builder) {
	f := newTestFleet(t, 3)
	cs := f.clients()
	f.write(cs, watchNaming)
	w := startWatch(t, f)
	waitUntil(t, "clients healthy", 2*time.Minute, func() bool { return f.allHealthy(cs) })
	waitUntil(t, "ready", time.Minute, func() bool { return w.get("/readyz") == 200 })

	const trials = 20
	var detect, startup, total, eventLag []time.Duration
	for i := 0; i < trials; i++ {
		time.Sleep(300 * time.Millisecond) // let the last pass's rechecks settle
		mark := len(w.logs.lines(""))
		t0 := time.Now()
		dockerCLI(t, "rm", "-f", f.ctr("c0"))
		waitUntil(t, "c0 back and healthy", 2*time.Minute, func() bool { return healthy(cs[0].port) })
		t2 := time.Now()
		// The pass that recreated c0: the last "reconcile start" before its action line.
		waitUntil(t, "the repair logged", 30*time.Second, func() bool { return repairPassStart(w, mark) != nil })
		start, evTime := repairPassStart(w, mark)[0], repairPassStart(w, mark)[1]
		detect = append(detect, start.Sub(t0))
		startup = append(startup, t2.Sub(start))
		total = append(total, t2.Sub(t0))
		if !evTime.IsZero() {
			eventLag = append(eventLag, start.Sub(evTime))
		}
	}

	var edit []time.Duration
	for i := 0; i < 5; i++ {
		cs[1].display = fmt.Sprintf("Edited %d", i)
		t0 := time.Now()
		f.writeByRename(cs, watchNaming)
		waitUntil(t, "edit applied", 2*time.Minute, func() bool {
			return healthy(cs[1].port) && nameNow(cs[1].port) == uiName(cs[1].display)
		})
		edit = append(edit, time.Since(t0))
		time.Sleep(300 * time.Millisecond)
	}

	fmt.Fprintf(report, "Drift repair, container removed by hand (`docker rm -f`), %d trials, stand-in image, 3-client fleet:\n\n", trials)
	fmt.Fprintf(report, "| measure | p50 | p99 (= max of %d) |\n|---|---|---|\n", trials)
	row := func(name string, ds []time.Duration) {
		fmt.Fprintf(report, "| %s | %s | %s |\n", name, pct(ds, 50), pct(ds, 99))
	}
	row("detection: `docker rm` issued → repair pass starts", detect)
	row("  of which: first Docker event (die) → repair pass starts", eventLag)
	row("start-up: repair pass starts → replacement healthy", startup)
	row("total: removed → replacement healthy", total)
	fmt.Fprintf(report, "\nEdit to applied (displayName changed, file saved by rename → client recreated and answering with the new name), 5 trials: p50 %s, max %s.\n\n",
		pct(edit, 50), pct(edit, 99))
}

// repairPassStart finds, in log lines after mark, the start time of the pass
// that recreated c0 and the time of the first Docker event about c0.
func repairPassStart(w *watchProc, mark int) []time.Time {
	lines := w.logs.lines("")
	if mark > len(lines) {
		return nil
	}
	var start, ev time.Time
	for _, l := range lines[mark:] {
		ts, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(l["time"]))
		switch l["msg"] {
		case "reconcile start":
			start = ts
		case "docker event":
			if l["client"] == "c0" && ev.IsZero() {
				ev, _ = time.Parse(time.RFC3339Nano, fmt.Sprint(l["event_time"]))
			}
		case "action":
			if l["client"] == "c0" && l["action"] == "create-container" && l["result"] == "done" {
				return []time.Time{start, ev}
			}
		}
	}
	return nil
}

func benchRest(t *testing.T, report *strings.Builder, n int) {
	f := newTestFleet(t, n)
	cs := f.clients()
	f.write(cs, watchNaming)
	t0 := time.Now()
	if r := f.run("apply", "--auto-approve", "--parallelism", "8"); r.code != 0 {
		t.Fatalf("apply %d clients: exit %d\n%s", n, r.code, r.all())
	}
	cold := time.Since(t0)
	w := startWatch(t, f)
	waitUntil(t, "ready", 5*time.Minute, func() bool { return w.get("/readyz") == 200 })
	time.Sleep(5 * time.Second)
	pid := w.cmd.Process.Pid
	cpu0, wall0 := cpuTime(t, pid), time.Now()
	const window = 60 * time.Second
	time.Sleep(window) // two resyncs (30s) of 100 clients, each with 100 health probes
	cpu1, wall1 := cpuTime(t, pid), time.Now()
	rss, hwm := procStatusKB(t, pid, "VmRSS"), procStatusKB(t, pid, "VmHWM")
	noop := 0.0
	for _, l := range w.logs.lines("reconcile done") {
		if l["trigger"] == "resync" {
			noop, _ = l["duration_seconds"].(float64)
		}
	}
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	fmt.Fprintf(report, "At rest with %d clients (%d stand-in containers running; cold apply took %s at parallelism 8), resync 30s, over %s:\n\n",
		n, n, cold.Round(100*time.Millisecond), window)
	fmt.Fprintf(report, "| measure | value |\n|---|---|\n")
	fmt.Fprintf(report, "| daemon RSS (VmRSS) | %.1f MB |\n| daemon peak RSS (VmHWM) | %.1f MB |\n", float64(rss)/1024, float64(hwm)/1024)
	fmt.Fprintf(report, "| daemon CPU at rest (user+sys / wall) | %.2f %% of one core |\n", 100*(cpu1-cpu0).Seconds()/wall1.Sub(wall0).Seconds())
	fmt.Fprintf(report, "| one no-op resync pass (lock, observe, plan, %d health probes) | %s |\n", n, (time.Duration(noop * float64(time.Second))).Round(time.Millisecond))
}

func pct(ds []time.Duration, p int) string {
	if len(ds) == 0 {
		return "-"
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (p*len(s) + 99) / 100
	i = min(max(i-1, 0), len(s)-1)
	return s[i].Round(time.Millisecond).String()
}

// cpuTime is the process's user+system time from /proc/PID/stat.
func cpuTime(t *testing.T, pid int) time.Duration {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

func procStatusKB(t *testing.T, pid int, key string) int64 {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, key+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
