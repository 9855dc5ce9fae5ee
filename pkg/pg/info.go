package pg

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/quantabase/fleetctl/pkg/redact"
)

// Info describes a PostgreSQL target for `fleetctl db show`. It never holds
// the password: URL is masked.
type Info struct {
	URL       string `json:"url"`
	Host      string `json:"host"`
	Port      string `json:"port"`
	Database  string `json:"database"`
	User      string `json:"user"`
	Reachable bool   `json:"reachable"`
	Error     string `json:"error,omitempty"`
	// ServerVersion is server_version, e.g. "15.14 (Debian 15.14-0+deb12u1)".
	ServerVersion    string `json:"serverVersion,omitempty"`
	ServerVersionNum int    `json:"serverVersionNum,omitempty"`
	// PGVector: the vector extension is installed in the database;
	// PGVectorAvailable: it could be (CREATE EXTENSION vector would work).
	PGVector          bool    `json:"pgvector"`
	PGVectorAvailable bool    `json:"pgvectorAvailable"`
	SimpleProtocol    bool    `json:"simpleProtocol"`
	Tables            []Table `json:"tables,omitempty"`
}

// Describe connects and fills Info. An unreachable server is not an error:
// Reachable is false and Error says why (without the password).
func Describe(ctx context.Context, rawURL string, o Options) Info {
	in := Info{URL: redact.URL(rawURL), SimpleProtocol: o.SimpleProtocol || UsesTransactionPooler(rawURL)}
	if u, err := url.Parse(rawURL); err == nil {
		in.Host, in.Port = u.Hostname(), u.Port()
		if in.Port == "" {
			in.Port = "5432"
		}
		in.Database = strings.TrimPrefix(u.Path, "/")
		in.User = u.User.Username()
	}
	m := Masker(ctx, rawURL)
	conn, err := Connect(ctx, rawURL, o)
	if err != nil {
		in.Error = m.String(err.Error())
		return in
	}
	defer conn.Close(context.Background())
	in.Reachable = true
	if err := fillServer(ctx, conn, &in); err != nil {
		in.Error = m.String(err.Error())
		return in
	}
	if t, err := Tables(ctx, conn, "public"); err == nil {
		in.Tables = t
	} else {
		in.Error = m.String(err.Error())
	}
	return in
}

func fillServer(ctx context.Context, conn *pgx.Conn, in *Info) error {
	err := conn.QueryRow(ctx, `SELECT current_setting('server_version'),
		current_setting('server_version_num')::int, current_database(), current_user,
		EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector'),
		EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector')`).
		Scan(&in.ServerVersion, &in.ServerVersionNum, &in.Database, &in.User, &in.PGVector, &in.PGVectorAvailable)
	if err != nil {
		return fmt.Errorf("server info: %w", err)
	}
	return nil
}

// ServerInfo fills the server fields of Info from an open connection.
func ServerInfo(ctx context.Context, conn *pgx.Conn) (Info, error) {
	var in Info
	cfg := conn.Config()
	in.Host, in.Port = cfg.Host, fmt.Sprint(cfg.Port)
	in.Reachable = true
	err := fillServer(ctx, conn, &in)
	return in, err
}

// HostPort is "host:port" of an Info, for messages.
func (in Info) HostPort() string { return net.JoinHostPort(in.Host, in.Port) }
