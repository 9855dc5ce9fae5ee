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
//
// Start-up follows the app: the secret key (start.sh), then the database
// (schema, config seed, admin) before anything listens; then it listens and
// answers 503 to everything until STANDIN_START_DELAY has passed, the
// simulated rest of the app's start-up; then it serves.
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
	srv, notes, err := boot(ctx, cfg, e.Environ)
	if err != nil && ctx.Err() != nil {
		fmt.Fprintln(stderr, "webui-standin: stopped during start-up")
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "webui-standin: %v\n", err)
		return 1
	}
	st := srv.store
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

	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.host, cfg.port))
	if err != nil {
		fmt.Fprintf(stderr, "webui-standin: listen: %v\n", err)
		closeStore()
		return 1
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	hs.RegisterOnShutdown(srv.shutdown) // ends streams and WebSockets
	fmt.Fprintf(stdout, "webui-standin %s (fleetctl stand-in, NOT Open WebUI) listening on %s; db %s; %s; name %q\n",
		version, ln.Addr(), st.Describe(), notes, cfg.displayName())
	if onListen != nil {
		onListen(ln.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()

	code, ready := 0, time.After(cfg.startDelay)
	for done := false; !done; {
		select {
		case <-ready: // the simulated rest of the app's start-up is over
			srv.started.Store(true)
			fmt.Fprintln(stdout, "webui-standin: start-up complete")
			ready = nil
		case err := <-errc:
			fmt.Fprintf(stderr, "webui-standin: serve: %v\n", err)
			code, done = 1, true
		case <-ctx.Done():
			done = true
		}
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

// boot does the start-up work that comes before listening: the secret key,
// then the database. It returns a server that answers 503 until started is
// set, and a summary for the start-up line (never the key itself).
func boot(ctx context.Context, cfg config, environ func() []string) (*server, string, error) {
	keyFrom, err := resolveSecretKey(&cfg)
	if err != nil {
		return nil, "", err
	}
	st, err := openStore(ctx, cfg.db)
	if err != nil {
		return nil, "", fmt.Errorf("database: %w", err)
	}
	r, err := st.initialize(ctx, cfg)
	if err != nil {
		st.Close()
		return nil, "", fmt.Errorf("database: %w", err)
	}
	notes := fmt.Sprintf("schema %s, %d config row(s) seeded", r.Schema, r.Seeded)
	if r.Admin {
		notes += ", admin user created"
	}
	notes += "; secret key " + keyFrom
	return newServer(cfg, st, environ), notes, nil
}
