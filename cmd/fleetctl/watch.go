package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/quantabase/fleetctl/pkg/apply"
	"github.com/quantabase/fleetctl/pkg/reconcile"
	"github.com/quantabase/fleetctl/pkg/watch"
)

// runWatch is `fleetctl watch`: the convergence daemon, in the foreground.
// Logs are JSON lines on stderr; SIGHUP reloads and reconciles at once;
// SIGINT/SIGTERM stop it after the pass under way (bounded by
// --shutdown-timeout).
func runWatch(ctx context.Context, env *cliEnv, args []string) int {
	fs := newFlags("watch", env)
	file := fs.String("f", "fleet.yaml", "path to fleet.yaml")
	listen := fs.String("listen", "127.0.0.1:9100", "address of /metrics, /healthz, /readyz and the status page (empty: none)")
	resync := fs.Duration("resync", 30*time.Second, "full reconcile period without any trigger")
	par := fs.Int("parallelism", 4, "how many actions run at once")
	lockWait := fs.Duration("lock-timeout", 30*time.Second, "how long one attempt waits for the fleet lock before logging and retrying")
	shutdown := fs.Duration("shutdown-timeout", 60*time.Second, "on SIGTERM, how long to wait for the pass under way to finish")
	backoffMax := fs.Duration("backoff-max", 5*time.Minute, "longest a failing client is left out of passes")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	if fs.Parse(args) != nil {
		return exitError
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(env.stderr, "Error: watch takes no arguments, got %q\n", fs.Args())
		return exitError
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(env.stderr, "Error: --log-level: %v\n", err)
		return exitError
	}
	log := slog.New(slog.NewJSONHandler(env.stderr, &slog.HandlerOptions{Level: lvl}))

	cli, ok := connect(ctx, env)
	if !ok {
		return exitError
	}
	defer cli.Close()
	cli.SetLogger(log)
	runner := &reconcile.Runner{Docker: cli, Holder: holder("watch"), LockWait: *lockWait}
	d := watch.New(watch.Config{
		Path: *file, Runner: runner, Engine: cli, ProbeHost: cli.ProbeHost(),
		Resync: *resync, BackoffMax: *backoffMax, Logger: log, Version: version,
	})
	runner.Exec = apply.Options{Parallelism: *par, Progress: d.Progress}

	var srv *http.Server
	if *listen != "" {
		ln, err := net.Listen("tcp", *listen)
		if err != nil {
			fmt.Fprintf(env.stderr, "Error: --listen: %v\n", err)
			return exitError
		}
		srv = &http.Server{Handler: d.Handler(), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("http server stopped", "error", err.Error())
			}
		}()
		log.Info("serving status page, metrics and probes", "address", ln.Addr().String())
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			log.Info("SIGHUP: reloading fleet.yaml and reconciling")
			d.Trigger()
		}
	}()

	// The daemon's context ends with the process's (SIGINT/SIGTERM): no new
	// pass starts and the pass under way starts no new action. Actions
	// already started finish or roll back; we wait for them up to the
	// deadline so no client is left half replaced.
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	code := exitOK
	select {
	case err := <-done:
		if err != nil {
			log.Error("watch stopped", "error", err.Error())
			code = exitError
		}
	case <-ctx.Done():
		log.Info("stopping: waiting for the pass under way", "timeout_seconds", shutdown.Seconds())
		select {
		case err := <-done:
			if err != nil {
				log.Error("watch stopped", "error", err.Error())
				code = exitError
			}
		case <-time.After(*shutdown):
			log.Error("shutdown timeout: a pass was still running; the next apply or watch resumes it",
				"timeout_seconds", shutdown.Seconds())
			code = exitError
		}
	}
	if srv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = srv.Shutdown(sctx)
		cancel()
	}
	log.Info("stopped")
	return code
}
