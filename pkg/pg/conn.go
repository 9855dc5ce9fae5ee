package pg

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/quantabase/fleetctl/pkg/redact"
)

// Options tune Connect.
type Options struct {
	// SimpleProtocol forces pgx's simple query protocol (no prepared
	// statements). Connect turns it on by itself for a transaction pooler.
	SimpleProtocol bool
	// ConnectTimeout bounds the connection attempt (default 10s).
	ConnectTimeout time.Duration
	// AppName is reported to the server as application_name.
	AppName string
}

// UsesTransactionPooler reports whether the URL points at a transaction-mode
// pooler (PgBouncer/Supavisor convention: port 6543), where a server
// connection is shared between transactions and prepared statements break.
func UsesTransactionPooler(rawURL string) bool {
	u, err := url.Parse(rawURL)
	if err != nil {
		return false
	}
	return u.Port() == "6543"
}

// Connect opens one connection. Errors never contain the password (nor any
// other secret the context's masker knows).
func Connect(ctx context.Context, rawURL string, o Options) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("connect %s: invalid connection string", redact.URL(rawURL))
	}
	if o.SimpleProtocol || UsesTransactionPooler(rawURL) {
		cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
		cfg.StatementCacheCapacity = 0
		cfg.DescriptionCacheCapacity = 0
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 10 * time.Second
	}
	cfg.ConnectTimeout = o.ConnectTimeout
	if o.AppName != "" {
		cfg.RuntimeParams["application_name"] = o.AppName
	}
	// Values fleetctl compares as text must print the same way every time.
	cfg.RuntimeParams["timezone"] = "UTC"
	cfg.RuntimeParams["datestyle"] = "ISO, MDY"
	cfg.RuntimeParams["extra_float_digits"] = "1"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, Masker(ctx, rawURL).Error(fmt.Errorf("connect %s: %w", redact.URL(rawURL), err))
	}
	return conn, nil
}

// Masker is the context's masker (pkg/redact) that also knows the password
// of rawURL: what pg, and pkg/migrate on pg's connections, pass every
// server message through before it leaves them.
func Masker(ctx context.Context, rawURL string) *redact.Masker {
	m := redact.FromContext(ctx)
	if u, err := url.Parse(rawURL); err == nil {
		if pw, ok := u.User.Password(); ok {
			m = m.With(pw)
		}
	}
	return m
}
