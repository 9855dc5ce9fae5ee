package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quantabase/fleetctl/pkg/docker"
)

// Two sync nodes as containers of fleetctl's own image, replicating a SQLite
// database that takes writes the whole time (the volume is a bind mount,
// read-write: a WAL reader needs the shared -shm). docker kill the leader:
// the other leads. docker pause the leader past its lease, then unpause it:
// nothing is written under the old term after the new one began.
func TestSyncNodesFailoverAndFencing(t *testing.T) {
	requireDocker(t)
	srv, db := startPG(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	image := selfImage(t, ctx)
	prefix := "it-sync-" + randHex(4)

	dir := t.TempDir()
	os.Chmod(dir, 0o777)
	dbPath := filepath.Join(dir, "webui.db")
	app, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=journal_mode(wal)&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	app.SetMaxOpenConns(1)
	defer app.Close()
	if _, err := app.Exec(`CREATE TABLE chat (id TEXT PRIMARY KEY, title TEXT, updated_at BIGINT)`); err != nil {
		t.Fatal(err)
	}
	var written atomic.Int64
	var werr atomic.Value
	stopW := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the application: ~50 writes a second, all along
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stopW:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if _, err := app.Exec(`INSERT INTO chat VALUES (?, 'x', ?)`, fmt.Sprint("r", i), time.Now().UnixNano()); err != nil {
				werr.Store(err)
				return
			}
			written.Add(1)
		}
	}()
	stopWriter := func() {
		select {
		case <-stopW:
		default:
			close(stopW)
		}
		wg.Wait()
	}
	defer stopWriter()

	nodes := names(startSyncNodes(t, ctx, image, prefix, srv.BridgeURL(db), dir))
	psql := func(q string) string {
		out, err := srv.Psql(ctx, db, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return out
	}
	leader := func(notTerm int64) (string, int64) {
		for ctx.Err() == nil {
			out, err := srv.Psql(ctx, db, `SELECT holder || ' ' || term FROM sync_metadata.lease WHERE expires_at > now()`)
			if f := strings.Fields(out); err == nil && len(f) == 2 {
				term, _ := strconv.ParseInt(f[1], 10, 64)
				if term != notTerm {
					return f[0], term
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		logs(t, nodes)
		t.Fatal("no leader")
		return "", 0
	}
	first, term1 := leader(0)
	waitRows(t, ctx, srv.Psql, db, func() int64 { return 1 })

	// docker kill the leader: the other one leads within about a lease.
	t0 := time.Now()
	if out, err := exec.Command("docker", "kill", first).CombinedOutput(); err != nil {
		t.Fatalf("docker kill: %v: %s", err, out)
	}
	second, term2 := leader(term1)
	t.Logf("failover after docker kill: %s → %s (term %d → %d) in %v", first, second, term1, term2, time.Since(t0).Round(10*time.Millisecond))
	if second == first {
		t.Fatalf("the killed node still leads")
	}
	if out, err := exec.Command("docker", "start", first).CombinedOutput(); err != nil {
		t.Fatalf("docker start: %v: %s", err, out)
	}

	// docker pause the leader past its lease, then unpause it.
	if out, err := exec.Command("docker", "pause", second).CombinedOutput(); err != nil {
		t.Fatalf("docker pause: %v: %s", err, out)
	}
	third, term3 := leader(term2)
	time.Sleep(time.Second) // the new leader writes for a while
	if out, err := exec.Command("docker", "unpause", second).CombinedOutput(); err != nil {
		t.Fatalf("docker unpause: %v: %s", err, out)
	}
	time.Sleep(4 * time.Second) // the old leader is awake and tries whatever it was doing
	if third == second {
		t.Fatalf("the paused node still leads")
	}
	late := psql(fmt.Sprintf(`SELECT count(*) FROM sync_metadata.row_hashes
		WHERE term = %d AND written_at >= (SELECT acquired_at FROM sync_metadata.terms WHERE term = %d)`, term2, term3))
	if late != "0" {
		t.Errorf("%s rows written under term %d after term %d began", late, term2, term3)
	}
	if ok := psql(fmt.Sprintf(`SELECT count(*) FROM sync_metadata.jobs WHERE term = %d AND status = 'ok'
		AND finished_at > (SELECT acquired_at FROM sync_metadata.terms WHERE term = %d)`, term2, term3)); ok != "0" {
		t.Errorf("%s passes of term %d succeeded after term %d began", ok, term2, term3)
	}

	// Everything the application wrote arrives.
	stopWriter()
	if err, _ := werr.Load().(error); err != nil {
		t.Fatalf("the application's writes failed: %v", err)
	}
	waitRows(t, ctx, srv.Psql, db, written.Load)
	if t.Failed() {
		logs(t, nodes)
	}
}

func waitRows(t *testing.T, ctx context.Context, psql func(context.Context, string, string) (string, error), db string, want func() int64) {
	t.Helper()
	var got string
	for ctx.Err() == nil {
		got, _ = psql(ctx, db, `SELECT count(*) FROM client_acme.chat`)
		if n, _ := strconv.ParseInt(got, 10, 64); n >= want() && n > 0 {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("target has %s rows, want %d", got, want())
}

func logs(t *testing.T, nodes []string) {
	for _, n := range nodes {
		out, _ := exec.Command("docker", "logs", "--tail", "30", n).CombinedOutput()
		t.Logf("%s:\n%s", n, out)
	}
}

// selfImage is fleetctl's own image made from the binary under test (static:
// FLEETCTL_BIN from make, or a CGO_ENABLED=0 build).
func selfImage(t *testing.T, ctx context.Context) string {
	t.Helper()
	bin := os.Getenv("FLEETCTL_BIN")
	if bin == "" {
		bin = filepath.Join(t.TempDir(), "fleetctl")
		cmd := exec.Command("go", "build", "-o", bin, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
	}
	cli, err := docker.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ref, err := cli.EnsureBinaryImage(ctx, bin, "test")
	if err != nil {
		t.Fatal(err)
	}
	return ref
}
