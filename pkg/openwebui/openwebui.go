// Package openwebui holds facts about the managed application that several
// packages test against: the real schema Open WebUI's own migrations create,
// per version, for SQLite and PostgreSQL (copied from the upstream tag; see
// schema/v0.11.0/README.md). It is data only: it imports no adapter and
// makes no calls, so the stand-in, the fixture generator, the migration and
// the sync tests all read one copy.
package openwebui

import (
	"embed"
	"fmt"
	"strings"
)

// Head is the Alembic revision of the newest schema held here (v0.11.0).
const (
	Version = "v0.11.0"
	Head    = "f0bd01a18a3d"
)

//go:embed schema/v0.11.0/*.sql
var schemas embed.FS

// SQLiteSchema returns the CREATE statements of the version's SQLite
// database (tables first, then indexes), one statement per element.
func SQLiteSchema(version string) ([]string, error) {
	raw, err := schemas.ReadFile("schema/" + version + "/schema-sqlite.sql")
	if err != nil {
		return nil, fmt.Errorf("open webui %s: no SQLite schema: %w", version, err)
	}
	return splitStatements(string(raw)), nil
}

// PostgresSchema returns the version's PostgreSQL schema as one script that
// a plain connection can execute (pg_dump's psql meta-commands removed).
// Objects are qualified with schema "public"; pass another schema name to
// create them there instead.
func PostgresSchema(version, schema string) (string, error) {
	raw, err := schemas.ReadFile("schema/" + version + "/schema-postgres.sql")
	if err != nil {
		return "", fmt.Errorf("open webui %s: no PostgreSQL schema: %w", version, err)
	}
	var b strings.Builder
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, `\`) || strings.HasPrefix(line, "--") {
			continue // \restrict, \unrestrict; comments
		}
		if strings.Contains(line, "set_config('search_path'") {
			continue // the dump empties search_path; callers choose theirs
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	out := b.String()
	if schema != "" && schema != "public" {
		out = strings.ReplaceAll(out, "public.", quoteIdent(schema)+".")
	}
	return out, nil
}

// Tables lists the version's table names, sorted as the dump lists them.
func Tables(version string) ([]string, error) {
	stmts, err := SQLiteSchema(version)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range stmts {
		rest, ok := strings.CutPrefix(s, "CREATE TABLE ")
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(rest, " ")
		out = append(out, strings.Trim(name, `"`))
	}
	return out, nil
}

// splitStatements splits a file of SQL statements each ending in ";" at the
// end of a line (the dumps' own layout; no statement holds such a line).
func splitStatements(sql string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(sql, "\n") {
		if strings.TrimSpace(line) == "" && cur.Len() == 0 {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(strings.TrimSpace(line), ";") {
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
