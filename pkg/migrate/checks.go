package migrate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/quantabase/fleetctl/pkg/openwebui"
	"github.com/quantabase/fleetctl/pkg/pg"
)

var (
	// ErrNotPlainSQLite: the source is not a plain SQLite file (an
	// encrypted sqlite+sqlcipher:// database, or no database at all).
	ErrNotPlainSQLite = errors.New("not a plain SQLite database")
	// ErrVersionSkew: the SQLite data and the target's schema come from
	// different Open WebUI schema revisions (alembic_version).
	ErrVersionSkew = errors.New("schema version skew")
)

// plainSQLite refuses a file that does not start with SQLite's header:
// SQLCipher encrypts the whole file, header included, and a plain reader
// cannot open it (nor can fleetctl, which never holds DATABASE_PASSWORD).
func plainSQLite(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	defer f.Close()
	head := make([]byte, 16)
	if _, err := io.ReadFull(f, head); err != nil || string(head) != "SQLite format 3\x00" {
		return fmt.Errorf("%w: %s does not start with the SQLite header: an encrypted database (DATABASE_URL sqlite+sqlcipher://, DATABASE_PASSWORD) "+
			"cannot be migrated by fleetctl; decrypt it with the application (or sqlcipher's sqlcipher_export) into a plain webui.db first", ErrNotPlainSQLite, path)
	}
	return nil
}

// alembicRevisions reads the revisions recorded in the source, sorted
// (none when the table is missing).
func (s *source) alembicRevisions(ctx context.Context) ([]string, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'`).Scan(&n); err != nil || n == 0 {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT CAST(version_num AS TEXT) FROM alembic_version ORDER BY 1`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// versionSkew compares alembic_version in the SQLite copy with the
// target's, once the application has created the target's schema (the
// table holds a revision): the copy would put rows of one schema version
// into another's tables. Refused before any data moves.
func versionSkew(ctx context.Context, src *source, conn *pgx.Conn, schema string, tgt map[string]*tgtTable) error {
	if tgt["alembic_version"] == nil {
		return nil
	}
	srcRev, err := src.alembicRevisions(ctx)
	if err != nil {
		return fmt.Errorf("source: alembic_version: %w", err)
	}
	rows, err := conn.Query(ctx, "SELECT version_num::text FROM "+pgx.Identifier{schema, "alembic_version"}.Sanitize()+" ORDER BY 1")
	if err != nil {
		return fmt.Errorf("%w: alembic_version: %w", ErrPreflight, err)
	}
	tgtRev, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("%w: alembic_version: %w", ErrPreflight, err)
	}
	if len(srcRev) == 0 || len(tgtRev) == 0 {
		return nil // nothing to compare: the schema step has not run, or an old (pre-Alembic) source
	}
	sort.Strings(srcRev)
	if strings.Join(srcRev, ",") != strings.Join(tgtRev, ",") {
		return fmt.Errorf("%w: the SQLite database is at Open WebUI schema revision %s, the target's schema at %s: "+
			"run the client once on the image that matches its data (or upgrade it on SQLite first), then migrate",
			ErrVersionSkew, strings.Join(srcRev, ","), strings.Join(tgtRev, ","))
	}
	return nil
}

// CreateAppSchema creates Open WebUI's PostgreSQL schema of the given
// version in public, with its Alembic revision: what the application's
// first start against an empty database does. For benchmarks and tools
// without Docker; the migration itself lets the client's image do it.
func CreateAppSchema(ctx context.Context, rawURL, version string) error {
	ddl, err := openwebui.PostgresSchema(version, "")
	if err != nil {
		return err
	}
	conn, err := pg.Connect(ctx, rawURL, pg.Options{AppName: "fleetctl-migrate"})
	if err != nil {
		return pg.Masker(ctx, rawURL).Error(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.PgConn().Exec(ctx, ddl).ReadAll(); err != nil {
		return pg.Masker(ctx, rawURL).Error(fmt.Errorf("schema %s: %w", version, err))
	}
	if version == openwebui.Version {
		if _, err := conn.Exec(ctx, `INSERT INTO public.alembic_version (version_num) VALUES ($1)`, openwebui.Head); err != nil {
			return pg.Masker(ctx, rawURL).Error(fmt.Errorf("schema %s: %w", version, err))
		}
	}
	return nil
}

// ErrUnsupported: the source holds something PostgreSQL would change
// silently (a name over 63 bytes is truncated) or fleetctl cannot carry
// (a generated column, a default expression of a table it creates).
var ErrUnsupported = errors.New("cannot be migrated without a change")

// maxIdent is PostgreSQL's identifier limit in bytes (NAMEDATALEN-1).
const maxIdent = 63

// unsupported lists, before any downtime, what would not arrive as it is:
// errors (refused) and objects that are not migrated (reported: views and
// triggers, which the application does not create).
func (s *source) unsupported(ctx context.Context, tables []*srcTable, tgt map[string]*tgtTable) (errs, notMigrated []string, err error) {
	for _, t := range tables {
		if len(t.Name) > maxIdent {
			errs = append(errs, fmt.Sprintf("table name %q is %d bytes (PostgreSQL keeps %d)", t.Name, len(t.Name), maxIdent))
		}
		for _, c := range t.Columns {
			if len(c.Name) > maxIdent {
				errs = append(errs, fmt.Sprintf("column name %s.%q is %d bytes (PostgreSQL keeps %d)", t.Name, c.Name, len(c.Name), maxIdent))
			}
		}
		for _, g := range t.Generated {
			errs = append(errs, fmt.Sprintf("%s.%s is a generated column (its expression is SQLite's; the copy would turn it into plain values)", t.Name, g))
		}
		if tgt[t.Name] != nil {
			continue
		}
		for _, c := range t.Columns {
			if c.Default == nil {
				continue
			}
			if _, ok := pgDefault(*c.Default, pgTypeFor(c.Type)); !ok {
				errs = append(errs, fmt.Sprintf("%s.%s has DEFAULT %s, which fleetctl does not translate for a table it creates", t.Name, c.Name, *c.Default))
			}
		}
	}
	rows, err := s.db.QueryContext(ctx, `SELECT type, name, tbl_name FROM sqlite_master WHERE type IN ('view', 'trigger') ORDER BY type, name`)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var typ, name, tbl string
		if err := rows.Scan(&typ, &name, &tbl); err != nil {
			return nil, nil, err
		}
		what := typ + " " + name
		if typ == "trigger" {
			what += " (on " + tbl + ")"
		}
		notMigrated = append(notMigrated, what)
	}
	return errs, notMigrated, rows.Err()
}

// pgDefault translates a SQLite column default (pragma dflt_value: the
// expression's text) for a table fleetctl creates: literals and the
// current-time keywords. ok is false for anything else.
func pgDefault(d, pgType string) (string, bool) {
	d = strings.TrimSpace(d)
	for strings.HasPrefix(d, "(") && strings.HasSuffix(d, ")") {
		d = strings.TrimSpace(d[1 : len(d)-1])
	}
	up := strings.ToUpper(d)
	switch {
	case up == "NULL":
		return "NULL", true
	case up == "CURRENT_TIMESTAMP" || up == "CURRENT_DATE" || up == "CURRENT_TIME":
		return up, pgType == "timestamp" || pgType == "date" || pgType == "text"
	case pgType == "boolean":
		switch up {
		case "0", "FALSE", "'0'":
			return "false", true
		case "1", "TRUE", "'1'":
			return "true", true
		}
		return "", false
	case len(d) >= 2 && d[0] == '\'' && d[len(d)-1] == '\'':
		switch pgType {
		case "text", "json", "jsonb", "date", "timestamp":
			return d, true // SQLite and PostgreSQL quote literals alike ('' inside)
		}
		return "", false
	}
	if _, err := strconv.ParseFloat(d, 64); err == nil {
		switch pgType {
		case "bigint", "double precision", "numeric":
			return d, true
		case "text":
			return "'" + d + "'", true
		}
	}
	return "", false
}
