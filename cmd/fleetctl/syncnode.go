package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/quantabase/fleetctl/pkg/redact"
	"github.com/quantabase/fleetctl/pkg/replicate"
)

// Environment variables that carry a node's secrets: never on the command
// line (visible in ps).
const (
	envSyncURL   = "FLEETCTL_SYNC_URL"
	envSyncToken = "FLEETCTL_SYNC_ADMIN_TOKEN"
)

func syncNodeCmd(env *cliEnv) *cobra.Command {
	var o struct {
		id, listen, meta, strategy, canary string
		namespace                          string
		clients, tables                    []string
		interval, full, lease, renw, ttl   time.Duration
	}
	c := &cobra.Command{
		Use:   "sync-node",
		Short: "run one HA sync node (what the sync containers run; see the README's sync section)",
		Long: "Run one node of the HA sync service until SIGTERM: elect a leader through the target\n" +
			"PostgreSQL database, and while leading mirror each --client SQLite database into schema\n" +
			"client_NAME (NS_client_NAME with --namespace NS). Serves /health, /metrics and /api/v1/ on --listen. The target URL is read from\n" +
			"$" + envSyncURL + " and the admin token from $" + envSyncToken + " (never from flags).\n" +
			"plan/apply run two of these as containers from a sync: section in fleet.yaml.",
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			clients, err := parsePairs(o.clients, "--client", "NAME=PATH")
			if err != nil {
				return err
			}
			tables, err := parsePairs(o.tables, "--table-strategy", "TABLE=STRATEGY")
			if err != nil {
				return err
			}
			cfg := replicate.Config{NodeID: o.id, URL: os.Getenv(envSyncURL), MetaSchema: o.meta, Namespace: o.namespace,
				Interval: o.interval, FullEvery: o.full, Lease: o.lease, Renew: o.renw,
				Listen: o.listen, AdminToken: os.Getenv(envSyncToken), Version: version,
				Canary: o.canary, CacheTTL: o.ttl,
				TableStrategies: map[string]replicate.Strategy{}}
			if cfg.URL == "" {
				return fmt.Errorf("$%s is not set: the node needs the target database's URL", envSyncURL)
			}
			if cfg.Strategy, err = replicate.ParseStrategy(o.strategy); err != nil {
				return usageErrorf("--strategy: %v", err)
			}
			for _, kv := range tables {
				s, err := replicate.ParseStrategy(kv[1])
				if err != nil {
					return usageErrorf("--table-strategy %s: %v", kv[0], err)
				}
				cfg.TableStrategies[kv[0]] = s
			}
			for _, kv := range clients {
				cfg.Clients = append(cfg.Clients, replicate.Client{Name: kv[0], SQLitePath: kv[1]})
			}
			env.intr.daemon()
			return status(runSyncNode(c.Context(), env, cfg))
		},
	}
	f := c.Flags()
	f.StringVar(&o.id, "node-id", "", "the node's stable id (its container name)")
	f.StringVar(&o.listen, "listen", "127.0.0.1:9443", "serve /health, /metrics and /api/v1/ on `ADDR`")
	f.StringVar(&o.meta, "meta-schema", "", "the metadata `SCHEMA` in the target (default sync_metadata, or NS_sync_metadata with --namespace)")
	f.StringVar(&o.namespace, "namespace", "", "the fleet's sync.namespace `NS` on a target several fleets share: schemas NS_sync_metadata and NS_client_NAME")
	f.StringArrayVar(&o.clients, "client", nil, "replicate client `NAME=PATH` (its webui.db; repeatable)")
	f.StringVar(&o.strategy, "strategy", string(replicate.SourceWins), "conflict `STRATEGY`: source_wins, target_wins, newest_wins, oldest_wins or manual")
	f.StringArrayVar(&o.tables, "table-strategy", nil, "conflict strategy of one table, `TABLE=STRATEGY` (repeatable)")
	f.DurationVar(&o.interval, "interval", time.Second, "time between incremental passes")
	f.DurationVar(&o.full, "full-interval", 30*time.Second, "time between key comparisons (deletes, tables without updated_at)")
	f.DurationVar(&o.lease, "lease", 8*time.Second, "leader lease")
	f.DurationVar(&o.renw, "renew", 2*time.Second, "lease renewal interval")
	f.DurationVar(&o.ttl, "cache-ttl", replicate.CacheTTL, "how long table shapes are cached (at most 5m)")
	f.StringVar(&o.canary, "canary", "", "the certification canary's SQLite `PATH` (fleetctl certify drills through it; created when missing)")
	_ = c.MarkFlagRequired("node-id")
	return c
}

func parsePairs(vals []string, flag, form string) ([][2]string, error) {
	var out [][2]string
	for _, v := range vals {
		k, val, ok := strings.Cut(v, "=")
		if !ok || k == "" || val == "" {
			return nil, usageErrorf("%s %q: expected %s", flag, v, form)
		}
		out = append(out, [2]string{k, val})
	}
	return out, nil
}

func runSyncNode(ctx context.Context, env *cliEnv, cfg replicate.Config) int {
	masker := redact.New(cfg.AdminToken)
	ctx = redact.NewContext(ctx, masker)
	cfg.Logger = slog.New(slog.NewJSONHandler(env.stderr, nil)).With("node", cfg.NodeID)
	var n *replicate.Node
	for attempt := 0; ; attempt++ {
		var err error
		if n, err = replicate.NewNode(ctx, cfg); err == nil {
			break
		}
		// The database may come up after the node (a host reboot): retry.
		cfg.Logger.Error("start", "err", masker.String(err.Error()), "attempt", attempt)
		select {
		case <-ctx.Done():
			return exitOK
		case <-time.After(min(time.Duration(attempt+1)*time.Second, 10*time.Second)):
		}
	}
	defer n.Close()
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- n.Serve(ctx) }()
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	cfg.Logger.Info("started", "clients", len(cfg.Clients), "listen", cfg.Listen)
	code := exitOK
	select {
	case err := <-errc:
		if err != nil {
			cfg.Logger.Error("http", "err", err.Error())
			code = exitError
			stop()
		}
		<-done
	case <-done:
	}
	cfg.Logger.Info("stopped; the lease is released")
	return code
}
