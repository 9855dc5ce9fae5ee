package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuf is a goroutine-safe log sink.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

type running struct {
	addr           string
	cancel         context.CancelFunc
	done           chan int
	stdout, stderr *syncBuf
}

// start runs the whole program in-process on a free port.
func start(t *testing.T, e mapEnv) *running {
	t.Helper()
	e["PORT"] = "0"
	tempKeyFile(t, e)
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan int, 1), stdout: &syncBuf{}, stderr: &syncBuf{}}
	addrc := make(chan string, 1)
	go func() {
		r.done <- run(ctx, e, r.stdout, r.stderr, func(a net.Addr) {
			addrc <- net.JoinHostPort("127.0.0.1", strconv.Itoa(a.(*net.TCPAddr).Port))
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(5 * time.Second):
			t.Error("run did not return")
		}
	})
	select {
	case r.addr = <-addrc:
	case code := <-r.done:
		t.Fatalf("run exited %d: %s", code, r.stderr)
	case <-time.After(10 * time.Second):
		t.Fatal("never listened")
	}
	if _, delayed := e["STANDIN_START_DELAY"]; !delayed {
		r.waitStarted(t)
	}
	return r
}

// waitStarted waits (bounded) until the stand-in's start-up is over: it
// listens first and answers 503 "Startup not complete" until then, which a
// loaded machine can stretch past a test's first request.
func (r *running) waitStarted(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + r.addr + "/health")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !strings.Contains(string(body), "Startup not complete") {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("start-up not complete after 10s (last error: %v)", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop cancels (as SIGTERM does) and returns the exit code and how long it took.
func (r *running) stop(t *testing.T) (int, time.Duration) {
	t.Helper()
	t0 := time.Now()
	r.cancel()
	select {
	case code := <-r.done:
		r.done <- code // for the cleanup
		return code, time.Since(t0)
	case <-time.After(5 * time.Second):
		t.Fatal("run did not return after cancel")
		return -1, 0
	}
}

func TestRunGracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	r := start(t, mapEnv{"DATA_DIR": dir, "WEBUI_NAME": "ACME"})
	base := "http://" + r.addr
	if code, body := do(t, "POST", base+"/_standin/chats", `{"id":"a","chat":{}}`, nil); code != 201 {
		t.Fatalf("%d %s", code, body)
	}
	// A long stream and an idle WebSocket are in flight at shutdown.
	resp, err := http.Get(base + "/_standin/stream?n=1000&interval=1s")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	ws := dialWSAddr(t, r.addr)

	code, took := r.stop(t)
	t.Logf("shutdown took %v", took)
	if code != 0 || took > 2*time.Second {
		t.Errorf("exit %d after %v; want 0 within 2s", code, took)
	}
	ws.expectClose(closeGoingAway)
	io.Copy(io.Discard, resp.Body) // the stream ended
	if _, err := os.Stat(filepath.Join(dir, "webui.db-wal")); !os.IsNotExist(err) {
		t.Errorf("WAL left behind: %v", err)
	}
	for _, f := range []string{"webui.db", ".webui-standin", "uploads"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	out := r.stdout.String()
	if strings.Count(out, "\n") != 2 || !strings.Contains(out, "NOT Open WebUI") || !strings.Contains(out, `"ACME (Open WebUI)"`) ||
		!strings.Contains(out, "start-up complete") {
		t.Errorf("stdout: %q", out)
	}

	// The next start on the same data dir sees the chat.
	r2 := start(t, mapEnv{"DATA_DIR": dir})
	if code, body := do(t, "GET", "http://"+r2.addr+"/_standin/chats/a", "", nil); code != 200 {
		t.Errorf("after restart: %d %s", code, body)
	}
}

// During STANDIN_START_DELAY the stand-in listens but is not ready: /ready
// (and everything else) answers 503 with the app's detail until the delay
// is over, then 200.
func TestRunStartDelay(t *testing.T) {
	t0 := time.Now()
	r := start(t, mapEnv{"DATA_DIR": t.TempDir(), "STANDIN_START_DELAY": "1s"})
	base := "http://" + r.addr
	var detail map[string]any
	code, body := do(t, "GET", base+"/ready", "", &detail)
	if elapsed := time.Since(t0); elapsed < time.Second && (code != 503 || detail["detail"] != "Startup not complete") {
		t.Fatalf("/ready during the start delay: %d %s", code, body)
	}
	for _, p := range []string{"/health", "/api/config", "/_standin/chats"} {
		if code, body := do(t, "GET", base+p, "", nil); code != 503 && time.Since(t0) < time.Second {
			t.Errorf("%s during the start delay: %d %s", p, code, body)
		}
	}
	for {
		code, body = do(t, "GET", base+"/ready", "", nil)
		if code == 200 {
			break
		}
		if code != 503 || time.Since(t0) > time.Minute {
			t.Fatalf("/ready: %d %s", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if d := time.Since(t0); d < time.Second {
		t.Errorf("ready after %v, before the 1s start delay was over", d)
	}
	if body != `{"status":true}`+"\n" {
		t.Errorf("/ready body %q", body)
	}
}

// A stop (SIGTERM) during start-up ends the program at once, exit 0:
// during the start delay, and during the database work before it.
func TestRunStopDuringStartDelay(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var t0 time.Time
	e := mapEnv{"DATA_DIR": t.TempDir(), "PORT": "0", "STANDIN_START_DELAY": "1h"}
	tempKeyFile(t, e)
	code := run(ctx, e, io.Discard, io.Discard, func(net.Addr) { t0 = time.Now(); cancel() })
	if code != 0 || t0.IsZero() || time.Since(t0) > 5*time.Second {
		t.Errorf("exit %d, %v after the stop", code, time.Since(t0))
	}
	stopped, stop := context.WithCancel(context.Background())
	stop()
	var stderr bytes.Buffer
	if code := run(stopped, mapEnv{"DATA_DIR": t.TempDir(), "PORT": "0", "WEBUI_SECRET_KEY": "k"}, io.Discard, &stderr, nil); code != 0 {
		t.Errorf("stopped before the database was ready: exit %d: %s", code, stderr.String())
	}
}

func TestRunExitCodes(t *testing.T) {
	for _, c := range []struct {
		env  mapEnv
		code int
		msg  string
	}{
		{mapEnv{"STANDIN_EXIT_CODE": "3"}, 3, "STANDIN_EXIT_CODE=3"},
		{mapEnv{"STANDIN_EXIT_CODE": "0"}, 0, "simulated crash"},
		{mapEnv{"DATABASE_URL": "postgresql://u:pw@127.0.0.1:1/x"}, 1, "database"},
		{mapEnv{"STANDIN_START_DELAY": "soon"}, 2, "STANDIN_START_DELAY"},
		{mapEnv{"DATABASE_URL": "sqlite:////proc/nope/webui.db"}, 1, "database"},
	} {
		dir := t.TempDir()
		c.env["DATA_DIR"] = dir
		c.env["PORT"] = "0"
		tempKeyFile(t, c.env)
		var stderr bytes.Buffer
		code := run(context.Background(), c.env, io.Discard, &stderr, func(net.Addr) { t.Errorf("%v: listened", c.env) })
		if code != c.code || !strings.Contains(stderr.String(), c.msg) || strings.Contains(stderr.String(), ":pw@") {
			t.Errorf("%v: exit %d, stderr %q; want %d, %q", c.env, code, stderr.String(), c.code, c.msg)
		}
		if _, err := os.Stat(filepath.Join(dir, "webui.db")); c.code == 3 && err == nil {
			t.Errorf("crash knob touched the database")
		}
	}
}

func TestHealthcheckCommand(t *testing.T) {
	r := start(t, mapEnv{"DATA_DIR": t.TempDir()})
	port := r.addr[strings.LastIndex(r.addr, ":")+1:]
	getenv := func(k string) string {
		if k == "PORT" {
			return port
		}
		return ""
	}
	if code := healthcheck(getenv, io.Discard); code != 0 {
		t.Errorf("healthy: %d", code)
	}
	u := start(t, mapEnv{"DATA_DIR": t.TempDir(), "STANDIN_UNHEALTHY": "1"})
	port = u.addr[strings.LastIndex(u.addr, ":")+1:]
	if code := healthcheck(getenv, io.Discard); code != 1 {
		t.Errorf("unhealthy: %d", code)
	}
	r.stop(t)
	port = r.addr[strings.LastIndex(r.addr, ":")+1:]
	if code := healthcheck(getenv, io.Discard); code != 1 {
		t.Errorf("stopped: %d", code)
	}
}
