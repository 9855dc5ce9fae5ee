package main

import (
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

const (
	defaultPort          = "8080"
	defaultDataDir       = "/app/backend/data"
	defaultName          = "Open WebUI"
	defaultSecretKeyFile = "/app/backend/.webui_secret_key" // start.sh's KEY_FILE, outside the data volume
	defaultAdminName     = "Admin"
)

// config is everything the stand-in reads from its environment, read once at start.
type config struct {
	port    string
	host    string // GF_SERVER_HTTP_ADDR when standing in for Grafana ("": every interface)
	dataDir string
	db      dbConfig
	name    string // WEBUI_NAME, exactly as given (displayName adds the app's suffix)

	googleClientID, googleClientSecret string

	// secretKey is WEBUI_SECRET_KEY (or WEBUI_JWT_SECRET_KEY) from the
	// environment; when both are empty, resolveSecretKey loads or writes
	// secretKeyFile like start.sh and fills it in. Only its digest is served.
	secretKey     string
	secretKeyFile string // WEBUI_SECRET_KEY_FILE

	admin    adminConfig
	defaults seedDefaults

	// Failure knobs for tests.
	startDelay time.Duration // STANDIN_START_DELAY
	unhealthy  bool          // STANDIN_UNHEALTHY
	exitCode   int           // STANDIN_EXIT_CODE; -1 when unset
	dbDown     bool          // STANDIN_DB_DOWN: every database ping fails
}

// adminConfig is the first-start admin (WEBUI_ADMIN_EMAIL/PASSWORD/NAME).
type adminConfig struct {
	email, password, name string
}

// seedDefaults are the environment's say in the config rows seeded at start.
type seedDefaults struct {
	persistent      bool // ENABLE_PERSISTENT_CONFIG (default true): false seeds nothing
	webuiURL        string
	enableSignup    bool
	defaultUserRole string
	enableLoginForm bool
}

// displayName is the name the app shows: like Open WebUI's env.py, any
// WEBUI_NAME other than exactly "Open WebUI" gets " (Open WebUI)" appended.
func (c config) displayName() string {
	if c.name == defaultName {
		return c.name
	}
	return c.name + " (Open WebUI)"
}

// dbConfig selects a storage backend: SQLite in the data volume (default) or
// PostgreSQL.
type dbConfig struct {
	backend string // "sqlite" or "postgres"
	path    string // sqlite: absolute path of the database file
	url     string // postgres: the connection URL (holds a password: never print it)
}

func loadConfig(lookup func(string) (string, bool)) (config, error) {
	get := func(k string) string { v, _ := lookup(k); return v }
	c := config{
		port:               defaultPort,
		dataDir:            defaultDataDir,
		name:               defaultName,
		googleClientID:     get("GOOGLE_CLIENT_ID"),
		googleClientSecret: get("GOOGLE_CLIENT_SECRET"),
		secretKey:          get("WEBUI_SECRET_KEY"),
		secretKeyFile:      defaultSecretKeyFile,
		admin:              adminConfig{email: get("WEBUI_ADMIN_EMAIL"), password: get("WEBUI_ADMIN_PASSWORD"), name: defaultAdminName},
		exitCode:           -1,
	}
	if c.secretKey == "" { // env.py: WEBUI_SECRET_KEY, else WEBUI_JWT_SECRET_KEY
		c.secretKey = get("WEBUI_JWT_SECRET_KEY")
	}
	if v := get("WEBUI_SECRET_KEY_FILE"); v != "" {
		c.secretKeyFile = v
	}
	if v := get("WEBUI_ADMIN_NAME"); v != "" {
		c.admin.name = v
	}
	c.defaults = seedDefaults{
		persistent:      envBool(get("ENABLE_PERSISTENT_CONFIG"), true),
		webuiURL:        get("WEBUI_URL"),
		enableSignup:    envBool(get("WEBUI_AUTH"), true) && envBool(get("ENABLE_SIGNUP"), true),
		defaultUserRole: get("DEFAULT_USER_ROLE"),
		enableLoginForm: envBool(get("ENABLE_LOGIN_FORM"), true),
	}
	if c.defaults.defaultUserRole == "" {
		c.defaults.defaultUserRole = "pending"
	}
	port := get("PORT")
	if port == "" {
		// Standing in for Grafana in fleetctl's monitoring tests (grafana.go).
		port = get("GF_SERVER_HTTP_PORT")
		if h := get("GF_SERVER_HTTP_ADDR"); h != "" {
			if net.ParseIP(h) == nil {
				return c, fmt.Errorf("GF_SERVER_HTTP_ADDR=%q: want an IP address", h)
			}
			c.host = h
		}
	}
	if v := port; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 65535 {
			return c, fmt.Errorf("PORT=%q: want a TCP port number", v)
		}
		c.port = strconv.Itoa(n)
	}
	if v := get("DATA_DIR"); v != "" {
		c.dataDir = v
	}
	abs, err := filepath.Abs(c.dataDir)
	if err != nil {
		return c, fmt.Errorf("DATA_DIR: %v", err)
	}
	c.dataDir = abs
	// Like Open WebUI: an empty but set WEBUI_NAME stays empty.
	if v, ok := lookup("WEBUI_NAME"); ok {
		c.name = v
	}
	if c.db, err = parseDatabaseURL(get("DATABASE_URL"), c.dataDir); err != nil {
		return c, err
	}
	if v := get("STANDIN_START_DELAY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return c, fmt.Errorf("STANDIN_START_DELAY=%q: want a Go duration such as 3s", v)
		}
		c.startDelay = d
	}
	if v := get("STANDIN_UNHEALTHY"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("STANDIN_UNHEALTHY=%q: want 1 or 0", v)
		}
		c.unhealthy = b
	}
	if v := get("STANDIN_DB_DOWN"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("STANDIN_DB_DOWN=%q: want 1 or 0", v)
		}
		c.dbDown = b
	}
	if v := get("STANDIN_EXIT_CODE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 255 {
			return c, fmt.Errorf("STANDIN_EXIT_CODE=%q: want an integer 0..255", v)
		}
		c.exitCode = n
	}
	return c, nil
}

// envBool reads a boolean the way Open WebUI's config does
// (os.getenv(K, default).lower() == "true"): unset means def, and anything
// but "true" (any case) is false.
func envBool(v string, def bool) bool {
	if v == "" {
		return def
	}
	return strings.EqualFold(v, "true")
}

// parseDatabaseURL follows SQLAlchemy, as Open WebUI does: sqlite:///rel/path
// is relative to the working directory, sqlite:////abs/path is absolute. The
// URL itself is never echoed in errors: it may hold a password.
func parseDatabaseURL(raw, dataDir string) (dbConfig, error) {
	if raw == "" {
		return dbConfig{backend: "sqlite", path: filepath.Join(dataDir, "webui.db")}, nil
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return dbConfig{}, fmt.Errorf("DATABASE_URL: not a URL (want sqlite:///PATH)")
	}
	switch strings.ToLower(scheme) {
	case "sqlite":
		rest, _, _ = strings.Cut(rest, "?") // driver options are ignored
		if !strings.HasPrefix(rest, "/") || len(rest) == 1 || rest == "/:memory:" {
			return dbConfig{}, fmt.Errorf("DATABASE_URL: sqlite URL needs a file path (sqlite:///PATH); in-memory databases are not supported")
		}
		p, err := filepath.Abs(rest[1:])
		if err != nil {
			return dbConfig{}, fmt.Errorf("DATABASE_URL: %v", err)
		}
		return dbConfig{backend: "sqlite", path: p}, nil
	case "postgres", "postgresql", "postgresql+psycopg2", "postgresql+psycopg":
		// Like Open WebUI (SQLAlchemy): any of these means PostgreSQL; pgx wants postgres://.
		return dbConfig{backend: "postgres", url: "postgres://" + rest}, nil
	default:
		if !schemeRE.MatchString(scheme) {
			scheme = "?"
		}
		return dbConfig{}, fmt.Errorf("DATABASE_URL: unsupported scheme %q (only sqlite:///PATH or postgresql://...)", scheme)
	}
}

// schemeRE guards the echo of an unknown scheme, so a malformed URL cannot leak a secret.
var schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]{0,31}$`)
