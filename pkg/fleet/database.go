package fleet

import (
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/quantabase/fleetctl/pkg/redact"
)

// VectorPGVector is the only vector store fleetctl configures itself.
const VectorPGVector = "pgvector"

// Supabase pooler ports: transaction mode shares server connections between
// transactions (no prepared statements), session mode does not.
const (
	SupabaseTransactionPort = 6543
	SupabaseSessionPort     = 5432
)

// databaseExtras checks the supabase and vector fields (the schema already
// checked their shapes).
func (v validator) databaseExtras(path string, backend Backend) {
	hasURL := v.ix.val(path+".url") != nil
	hasSupa := v.ix.val(path+".supabase") != nil
	switch {
	case hasURL && hasSupa:
		v.errf(path+".supabase", "set either url or supabase, not both")
	case hasSupa && backend != BackendPostgres:
		v.errf(path+".supabase", "supabase is only used with backend: postgres (this client's backend is %s)", backend)
	}
	if v.ix.val(path+".vector") != nil && backend != BackendPostgres {
		v.errf(path+".vector", "vector is only used with backend: postgres (this client's backend is %s)", backend)
	}
}

// ConnURL returns the client's DATABASE_URL with secrets resolved: the url
// reference's value, or the Supabase pooler URL. "" for SQLite.
func (d *Database) ConnURL(secrets Secrets) string {
	if d == nil || d.Backend != BackendPostgres {
		return ""
	}
	if s := d.Supabase; s != nil {
		return SupabaseURL(s.ProjectRef, s.Region, secrets.Value(s.Password), s.Mode)
	}
	return secrets.Value(d.URL)
}

// SupabaseURL builds a Supabase pooler URL: user postgres.REF, host
// aws-0-REGION.pooler.supabase.com, port 6543 (transaction, the default) or
// 5432 (session), database postgres. The password is percent-encoded
// byte by byte except RFC 3986 unreserved characters, so any character
// (@ # ! % & : / ...) survives every URL parser.
func SupabaseURL(projectRef, region, password string, mode SupabaseMode) string {
	port := SupabaseTransactionPort
	if mode == SupabaseSession {
		port = SupabaseSessionPort
	}
	host := net.JoinHostPort("aws-0-"+region+".pooler.supabase.com", strconv.Itoa(port))
	return "postgresql://" + redact.PercentEncode("postgres."+projectRef) + ":" + redact.PercentEncode(password) +
		"@" + host + "/postgres?sslmode=require"
}

// DatabaseKey identifies a PostgreSQL database by host, port and name,
// without credentials or options ("" when the URL does not parse): two
// clients must not share one, and a migration journal names its target so.
func DatabaseKey(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	port := u.Port()
	if port == "" {
		port = "5432"
	}
	return strings.ToLower(u.Hostname()) + ":" + port + "/" + strings.TrimPrefix(u.Path, "/")
}
