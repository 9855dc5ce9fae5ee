package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestHostsMoveBench measures the downtime of moving a ~320 MB client
// between two hosts (extra dockerd on this machine), against a stop-first
// replace of the same client on one host in the same run (the anchor: what
// any config change costs). scripts/bench-move.sh runs it; it is skipped
// otherwise. It prints a Markdown report; it asserts no figure.
func TestHostsMoveBench(t *testing.T) {
	if os.Getenv("FLEETCTL_BENCH_MOVE") != "1" {
		t.Skip("benchmark: set FLEETCTL_BENCH_MOVE=1 (make bench)")
	}
	const rounds = 3
	mb := 320
	ds := startHosts(t, 2)
	f := newTestFleet(t, 1)
	cs := f.clients()
	host := "h1"
	write := func(env string) {
		cs[0].extra = "    host: " + host + "\n" + env
		f.write(cs, "")
		f.writeHosts(ds, "")
	}
	write("")
	f.mustApply()
	port := cs[0].port
	vol := f.name + "-c0-data"

	// ~70% uploads (half random, half text-like) written into the volume,
	// ~30% database rows through the client itself.
	mount := onHost(t, ds[0], "volume", "inspect", "--format", "{{.Mountpoint}}", vol)
	up := filepath.Join(mount, "uploads")
	if err := os.MkdirAll(up, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < mb*7/10/4; i++ {
		r := make([]byte, 2_000_000)
		_, _ = rand.Read(r)
		if err := os.WriteFile(filepath.Join(up, fmt.Sprintf("r%d.bin", i)), r, 0o644); err != nil {
			t.Fatal(err)
		}
		txt := []byte(base64.StdEncoding.EncodeToString(r[:1_500_000]))
		if err := os.WriteFile(filepath.Join(up, fmt.Sprintf("t%d.txt", i)), txt[:2_000_000], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	body := make([]byte, 45_000)
	_, _ = rand.Read(body)
	text := base64.StdEncoding.EncodeToString(body)
	chats := 0
	for dirSize(t, mount) < int64(mb)*1_000_000 {
		for j := 0; j < 50; j++ {
			postJSON(t, port, "/_standin/chats", map[string]any{"id": fmt.Sprintf("seed-%d", chats), "user_id": "u", "title": "seed",
				"chat": map[string]any{"messages": []any{map[string]any{"id": "m", "role": "user", "content": text}}}})
			chats++
		}
	}
	size := fmt.Sprintf("%.0f MB (%d chats)", float64(dirSize(t, mount))/1e6, chats)

	// downtime polls the client every 20 ms while fn runs: from the first
	// failed request to the first good one after it.
	downtime := func(fn func()) (down, wall time.Duration) {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var first, back time.Time
		wg.Add(1)
		go func() {
			defer wg.Done()
			hc := http.Client{Timeout: time.Second}
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := hc.Get(fmt.Sprintf("http://127.0.0.1:%d/health", port))
				ok := err == nil && resp.StatusCode == http.StatusOK
				if resp != nil {
					resp.Body.Close()
				}
				now := time.Now()
				switch {
				case !ok && first.IsZero():
					first = now
				case ok && !first.IsZero() && back.IsZero():
					back = now
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
		t0 := time.Now()
		fn()
		wall = time.Since(t0)
		waitFor(t, time.Minute, func() bool { return nameNow(port) != "" })
		time.Sleep(100 * time.Millisecond)
		close(stop)
		wg.Wait()
		if first.IsZero() || back.IsZero() {
			return 0, wall
		}
		return back.Sub(first), wall
	}
	daemon := map[string]int{"h1": 0, "h2": 1}
	var moveDown, moveWall, recDown, recWall []time.Duration
	for i := 0; i < rounds; i++ {
		// Anchor: a stop-first replace on the same host (an env change).
		write(fmt.Sprintf("    env:\n      ROUND: \"%d\"\n", i))
		d, w := downtime(func() { f.mustApply() })
		recDown, recWall = append(recDown, d), append(recWall, w)
		// The move to the other host; the old volume it keeps is removed
		// before the next move back.
		from := host
		host = map[string]string{"h1": "h2", "h2": "h1"}[host]
		write(fmt.Sprintf("    env:\n      ROUND: \"%d\"\n", i))
		d, w = downtime(func() { f.mustApply() })
		moveDown, moveWall = append(moveDown, d), append(moveWall, w)
		if out := onHost(t, ds[daemon[from]], "volume", "rm", vol); out != vol {
			t.Fatalf("remove the kept volume on %s: %s", from, out)
		}
		if n := len(chatIDs(t, port)); n < chats {
			t.Fatalf("after move %d: %d chats", i, n)
		}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "Move of a client with a %s volume between two hosts (medians of %d, alternating with the anchor)\n\n", size, rounds)
	b.WriteString("| what | downtime | apply wall |\n|---|---|---|\n")
	fmt.Fprintf(&b, "| anchor: stop-first replace on one host (env change) | %.0f ms | %.0f ms |\n", ms(median(recDown)), ms(median(recWall)))
	fmt.Fprintf(&b, "| **move-client h1 ↔ h2** | **%.0f ms** | %.0f ms |\n\n", ms(median(moveDown)), ms(median(moveWall)))
	fmt.Fprintf(&b, "move downtime / anchor downtime = %.1f; every round: move %v, anchor %v\n", float64(median(moveDown))/float64(max(median(recDown), 1)), moveDown, recDown)
	fmt.Print("\n" + b.String())
}

// dirSize is the size of the files under dir (the volume as the engine
// stores it).
func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
