package pg

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/quantabase/fleetctl/pkg/redact"
)

// Pool opens a connection pool with the same settings as Connect (simple
// protocol behind a transaction pooler, fixed time zone and formats). A
// long-running daemon (the sync node) uses it to survive dropped
// connections: a broken connection is discarded and a new one dialled.
func Pool(ctx context.Context, rawURL string, o Options, maxConns int32) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("connect %s: invalid connection string", redact.URL(rawURL))
	}
	cc := cfg.ConnConfig
	if o.SimpleProtocol || UsesTransactionPooler(rawURL) {
		cc.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
		cc.StatementCacheCapacity = 0
		cc.DescriptionCacheCapacity = 0
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 10 * time.Second
	}
	cc.ConnectTimeout = o.ConnectTimeout
	if o.AppName != "" {
		cc.RuntimeParams["application_name"] = o.AppName
	}
	cc.RuntimeParams["timezone"] = "UTC"
	cc.RuntimeParams["datestyle"] = "ISO, MDY"
	cc.RuntimeParams["extra_float_digits"] = "1"
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	cfg.HealthCheckPeriod = 5 * time.Second
	p, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, Masker(ctx, rawURL).Error(fmt.Errorf("connect %s: %w", redact.URL(rawURL), err))
	}
	return p, nil
}
