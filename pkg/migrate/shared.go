package migrate

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// What pkg/replicate shares with the migration, so that a row reaches
// PostgreSQL the same way whether it was migrated once or is replicated
// continuously: the read-only SQLite opening, the table description, the
// SQLite → PostgreSQL type mapping and the per-column coercion (with its
// alteration counts). Thin exported wrappers over the engine's own code.

// SQLiteColumn is a column of a SQLite table.
type SQLiteColumn struct {
	Name    string
	Type    string // declared type, upper case
	NotNull bool
	PK      int // position in the primary key, 0 when not part of it
	Default *string
}

// SQLiteTable is a SQLite table's shape and its foreign-key parents.
type SQLiteTable struct {
	Name    string
	Columns []SQLiteColumn
	Parents []string
}

// OpenSQLite opens path read-only exactly as the migration does, plus a busy
// timeout: a reader of a live WAL database waits (never fails) while the
// application's writer holds a lock for a moment, and never blocks it.
func OpenSQLite(ctx context.Context, path string, busy time.Duration) (*sql.DB, error) {
	s, err := openSource(ctx, path, fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	if err != nil {
		return nil, err
	}
	return s.db, nil
}

// DescribeSQLite lists the user tables of db with their columns and parents
// (no row counts: they cost a full scan).
func DescribeSQLite(ctx context.Context, db *sql.DB) ([]SQLiteTable, error) {
	s := &source{db: db}
	names, err := s.tableNames(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]SQLiteTable, 0, len(names))
	for _, n := range names {
		t := &srcTable{Name: n}
		if err := s.describe(ctx, t); err != nil {
			return nil, fmt.Errorf("table %s: %w", n, err)
		}
		st := SQLiteTable{Name: n, Parents: t.Parents}
		for _, c := range t.Columns {
			st.Columns = append(st.Columns, SQLiteColumn(c))
		}
		out = append(out, st)
	}
	return out, nil
}

// CreateTableSQL is the CREATE TABLE the migration uses for a table missing
// in the target (mapped types, NOT NULL, defaults, the primary key), without
// unique constraints or foreign keys: a mirror written table by table must
// not refuse a row for a parent another transaction brings.
func CreateTableSQL(schema string, t SQLiteTable) string {
	st := &srcTable{Name: t.Name}
	for _, c := range t.Columns {
		st.Columns = append(st.Columns, srcColumn(c))
	}
	return createTableSQL(schema, st, nil, nil)
}

// SelectSQL reads the columns of a SQLite table as stored (see selectSQL).
func SelectSQL(table string, cols []string) string { return selectSQL(table, cols) }

// SQLiteIdent quotes a SQLite identifier.
func SQLiteIdent(s string) string { return sqliteIdent(s) }

// Encoder coerces SQLite values into COPY text fields for one target column,
// by the column's PostgreSQL type (udt_name), counting every alteration.
type Encoder struct{ e colEncoder }

// NewEncoder is the encoder for a target column of type udt (int8, bool, json…).
func NewEncoder(udt string) *Encoder { return &Encoder{e: colEncoder{kind: kindOf(udt)}} }

// AppendField appends v (nil, int64, float64, string or []byte) encoded.
func (e *Encoder) AppendField(buf []byte, v any) []byte { return e.e.appendField(buf, v) }

// Alterations are the counts per alteration kind (Alt* constants) so far.
func (e *Encoder) Alterations() map[string]int64 { return e.e.alter }

// PGTypeFor is the PostgreSQL type for a SQLite declared type (pgTypeFor).
func PGTypeFor(decl string) string { return pgTypeFor(decl) }

// UnescapeField is a COPY text field's value (reverses the encoders'
// escaping; \N is the caller's).
func UnescapeField(f []byte) []byte { return unescapeCopy(f) }
