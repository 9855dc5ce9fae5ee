// Command webui-standin is a small stand-in for Open WebUI, used by fleetctl's
// tests and demo where no container registry is reachable. It is NOT Open
// WebUI: it only mimics what a fleet manager observes (port, health endpoints,
// /api/config, the data directory and an Open WebUI-shaped SQLite schema) and
// adds a test-only API under /_standin/.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

const version = "0.0.0-standin"

// shutdownTimeout bounds graceful shutdown; the whole stop must finish well
// inside Docker's default 10s stop timeout (target: ~2s).
const shutdownTimeout = 1500 * time.Millisecond

func main() {
	if len(os.Args) > 1 && os.Args[1] == "healthcheck" {
		os.Exit(healthcheck(os.Getenv, os.Stderr))
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	os.Exit(run(ctx, osEnv{}, os.Stdout, os.Stderr, nil))
}

// env abstracts the process environment so tests can run the whole program.
type env interface {
	LookupEnv(key string) (string, bool)
	Environ() []string
}

type osEnv struct{}

func (osEnv) LookupEnv(k string) (string, bool) { return os.LookupEnv(k) }
func (osEnv) Environ() []string                 { return os.Environ() }

// run is the whole program. It returns the process exit code. ctx is
// cancelled on SIGTERM/SIGINT. onListen, if set, is told the bound address.
func run(ctx context.Context, e env, stdout, stderr io.Writer, onListen func(net.Addr)) int {
	cfg, err := loadConfig(e.LookupEnv)
	if err != nil {
		fmt.Fprintf(stderr, "webui-standin: configuration error: %v\n", err)
		return 2
	}
	if cfg.exitCode >= 0 {
		fmt.Fprintf(stderr, "webui-standin %s: STANDIN_EXIT_CODE=%d set, exiting now (simulated crash)\n", version, cfg.exitCode)
		return cfg.exitCode
	}

	st, err := openStore(ctx, cfg.db)
	if err != nil {
		fmt.Fprintf(stderr, "webui-standin: database: %v\n", err)
		return 1
	}
	closeStore := func() int {
		if err := st.Close(); err != nil {
			fmt.Fprintf(stderr, "webui-standin: closing database: %v\n", err)
			return 1
		}
		return 0
	}
	if err := writeDataDirMarker(cfg.dataDir); err != nil {
		fmt.Fprintf(stderr, "webui-standin: warning: %v\n", err)
	}

	if cfg.startDelay > 0 { // simulated application start-up time
		select {
		case <-time.After(cfg.startDelay):
		case <-ctx.Done():
			return closeStore()
		}
	}

	ln, err := net.Listen("tcp", net.JoinHostPort("", cfg.port))
	if err != nil {
		fmt.Fprintf(stderr, "webui-standin: listen: %v\n", err)
		closeStore()
		return 1
	}
	srv := newServer(cfg, st, e.Environ)
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	hs.RegisterOnShutdown(srv.shutdown) // ends streams and WebSockets

	fmt.Fprintf(stdout, "webui-standin %s (fleetctl stand-in, NOT Open WebUI) listening on %s; db %s; name %q\n",
		version, ln.Addr(), st.Describe(), cfg.name)
	if onListen != nil {
		onListen(ln.Addr())
	}

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	code := 0
	select {
	case err := <-errc:
		fmt.Fprintf(stderr, "webui-standin: serve: %v\n", err)
		code = 1
	case <-ctx.Done():
	}

	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		hs.Close() // deadline passed: drop what is left
	}
	srv.shutdown()
	if c := closeStore(); c != 0 && code == 0 {
		code = c
	}
	fmt.Fprintln(stderr, "webui-standin: stopped")
	return code
}
