package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

const (
	defaultPort    = "8080"
	defaultDataDir = "/app/backend/data"
	defaultName    = "Open WebUI"
)

// config is everything the stand-in reads from its environment, read once at start.
type config struct {
	port           string
	dataDir        string
	db             dbConfig
	name           string // WEBUI_NAME, exactly as given
	googleClientID string
	secretKey      string // WEBUI_SECRET_KEY; only its digest is ever served

	// Failure knobs for tests.
	startDelay time.Duration // STANDIN_START_DELAY
	unhealthy  bool          // STANDIN_UNHEALTHY
	exitCode   int           // STANDIN_EXIT_CODE; -1 when unset
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
		port:           defaultPort,
		dataDir:        defaultDataDir,
		name:           defaultName,
		googleClientID: get("GOOGLE_CLIENT_ID"),
		secretKey:      get("WEBUI_SECRET_KEY"),
		exitCode:       -1,
	}
	if v := get("PORT"); v != "" {
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
	if v := get("STANDIN_EXIT_CODE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 255 {
			return c, fmt.Errorf("STANDIN_EXIT_CODE=%q: want an integer 0..255", v)
		}
		c.exitCode = n
	}
	return c, nil
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
