package pg

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
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

// Connect opens one connection. Errors never contain the password.
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
		return nil, fmt.Errorf("connect %s: %w", redact.URL(rawURL), scrub(err, cfg.Password))
	}
	return conn, nil
}

// scrub makes sure a password never travels inside an error message.
func scrub(err error, password string) error {
	if password == "" || !strings.Contains(err.Error(), password) {
		return err
	}
	return &scrubbed{msg: strings.ReplaceAll(err.Error(), password, "****"), err: err}
}

type scrubbed struct {
	msg string
	err error
}

func (s *scrubbed) Error() string { return s.msg }

// Is keeps errors.Is working on the wrapped error without exposing its text.
func (s *scrubbed) Is(target error) bool { return errors.Is(s.err, target) }

// QuoteIdent quotes an identifier for SQL (user and group are reserved words).
func QuoteIdent(name string) string {
	return pgx.Identifier{name}.Sanitize()
}
