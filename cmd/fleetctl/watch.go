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

	"github.com/spf13/cobra"

	"github.com/quantabase/fleetctl/pkg/apply"
	"github.com/quantabase/fleetctl/pkg/backup"
	"github.com/quantabase/fleetctl/pkg/docker"
	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/reconcile"
	"github.com/quantabase/fleetctl/pkg/watch"
)

// watchFlags are the daemon's flags.
type watchFlags struct {
	file       string
	listen     string
	resync     time.Duration
	par        int
	lockWait   time.Duration
	shutdown   time.Duration
	backoffMax time.Duration
	level      string
}

func watchCmd(env *cliEnv) *cobra.Command {
	var wf watchFlags
	c := &cobra.Command{
		Use:   "watch",
		Short: "keep the fleet converged: a daemon with metrics and a status page",
		Long: "Run the observe → plan → apply pass of 'fleetctl apply --auto-approve', under the same lock,\n" +
			"whenever fleet.yaml, a secret file or a client container changes, every --resync and on SIGHUP.\n" +
			"Logs are JSON lines on stderr. SIGINT/SIGTERM start no new action; actions under way finish or\n" +
			"roll back, and the process exits within --shutdown-timeout.",
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			env.intr.daemon()
			return status(runWatch(c.Context(), env, &wf))
		},
	}
	fileFlag(c, &wf.file)
	c.Flags().StringVar(&wf.listen, "listen", "127.0.0.1:9100", "serve /metrics, /healthz, /readyz and the status page on `ADDR` (empty: none)")
	c.Flags().DurationVar(&wf.resync, "resync", 30*time.Second, "full reconcile period without any trigger")
	parallelismFlag(c, &wf.par)
	c.Flags().DurationVar(&wf.lockWait, "lock-timeout", 30*time.Second, "how long one attempt waits for the fleet lock before logging and retrying")
	c.Flags().DurationVar(&wf.shutdown, "shutdown-timeout", 60*time.Second, "on SIGTERM, how long to wait for the pass under way to finish")
	c.Flags().DurationVar(&wf.backoffMax, "backoff-max", 5*time.Minute, "longest a failing client is left out of passes")
	c.Flags().StringVar(&wf.level, "log-level", "info", "log `LEVEL`: debug, info, warn or error")
	_ = c.RegisterFlagCompletionFunc("log-level", cobra.FixedCompletions([]string{"debug", "info", "warn", "error"}, cobra.ShellCompDirectiveNoFileComp))
	return c
}

// runWatch is `fleetctl watch`: the convergence daemon, in the foreground.
// Logs are JSON lines on stderr; SIGHUP reloads and reconciles at once;
// SIGINT/SIGTERM stop it after the pass under way (bounded by
// --shutdown-timeout).
func runWatch(ctx context.Context, env *cliEnv, wf *watchFlags) int {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(wf.level)); err != nil {
		fmt.Fprintf(env.stderr, "Error: --log-level: %v\n", err)
		return exitError
	}
	log := slog.New(slog.NewJSONHandler(env.stderr, &slog.HandlerOptions{Level: lvl}))

	runner := &reconcile.Runner{Holder: docker.Holder("fleetctl watch"), LockWait: wf.lockWait, CopyVolume: copyVolume}
	cfg := watch.Config{Path: wf.file, Runner: runner,
		Resync: wf.resync, BackoffMax: wf.backoffMax, Logger: log, Version: version}
	if hosts := watchHosts(ctx, wf.file); hosts != nil { // hosts.go
		defer hosts.Close()
		runner.Hosts, cfg.Engine = hosts, hosts
	} else {
		cli, ok := connect(ctx, env)
		if !ok {
			return exitError
		}
		defer cli.Close()
		cli.SetLogger(log)
		runner.Docker, cfg.Engine, cfg.ProbeHost = cli, cli, cli.ProbeHost()
		// Scheduled backups (backups.schedule) on a single engine; a
		// multi-host fleet does not take them yet.
		cli.SetVersion(version)
		cfg.Backup = func(ctx context.Context, spec *fleet.Spec, secrets fleet.Secrets, client string) (watch.BackupOutcome, error) {
			res, err := backup.Backup(ctx, cli, spec, secrets, backup.NewDestination(spec, secrets), client, backup.Options{Version: version})
			if err != nil {
				return watch.BackupOutcome{}, err
			}
			return watch.BackupOutcome{ID: res.Entry.ID, Bytes: res.Manifest.TotalBytes, Duration: res.Duration}, nil
		}
	}
	d := watch.New(cfg)
	runner.Exec = apply.Options{Parallelism: wf.par, Progress: d.Progress}

	var srv *http.Server
	if wf.listen != "" {
		ln, err := net.Listen("tcp", wf.listen)
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
		log.Info("stopping: waiting for the pass under way", "timeout_seconds", wf.shutdown.Seconds())
		select {
		case err := <-done:
			if err != nil {
				log.Error("watch stopped", "error", err.Error())
				code = exitError
			}
		case <-time.After(wf.shutdown):
			log.Error("shutdown timeout: a pass was still running; the next apply or watch resumes it",
				"timeout_seconds", wf.shutdown.Seconds())
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
