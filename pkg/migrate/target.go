package migrate

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// kind is how a target column's values are encoded, coerced and compared.
type kind int

const (
	kText kind = iota
	kBool
	kInt
	kFloat
	kNumeric
	kJSON
	kJSONB
	kDate
	kTimestamp
	kTimestampTZ
	kBytea
	kOther // passed through as text; PostgreSQL parses it
)

// tgtColumn is a target column, from information_schema.
type tgtColumn struct {
	Name     string
	UDT      string // udt_name: int8, bool, json, ...
	Kind     kind
	NotNull  bool
	Sequence bool // default nextval(...) or identity: needs setval after the copy
}

type tgtTable struct {
	Name    string
	Columns []tgtColumn
	Parents []string
}

func kindOf(udt string) kind {
	switch udt {
	case "bool":
		return kBool
	case "int2", "int4", "int8":
		return kInt
	case "float4", "float8":
		return kFloat
	case "numeric":
		return kNumeric
	case "json":
		return kJSON
	case "jsonb":
		return kJSONB
	case "date":
		return kDate
	case "timestamp":
		return kTimestamp
	case "timestamptz":
		return kTimestampTZ
	case "bytea":
		return kBytea
	case "text", "varchar", "bpchar", "name", "citext":
		return kText
	}
	return kOther
}

// targetTables reads every base table of schema with its columns and FK parents.
func targetTables(ctx context.Context, conn *pgx.Conn, schema string) (map[string]*tgtTable, error) {
	rows, err := conn.Query(ctx, `SELECT c.table_name, c.column_name, c.udt_name, c.is_nullable = 'NO',
			coalesce(c.column_default LIKE 'nextval(%', false) OR c.is_identity = 'YES'
		FROM information_schema.columns c
		JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
		WHERE c.table_schema = $1 AND t.table_type = 'BASE TABLE'
		ORDER BY c.table_name, c.ordinal_position`, schema)
	if err != nil {
		return nil, fmt.Errorf("target columns: %w", err)
	}
	out := map[string]*tgtTable{}
	for rows.Next() {
		var tn string
		var c tgtColumn
		if err := rows.Scan(&tn, &c.Name, &c.UDT, &c.NotNull, &c.Sequence); err != nil {
			rows.Close()
			return nil, fmt.Errorf("target columns: %w", err)
		}
		c.Kind = kindOf(c.UDT)
		t := out[tn]
		if t == nil {
			t = &tgtTable{Name: tn}
			out[tn] = t
		}
		t.Columns = append(t.Columns, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("target columns: %w", err)
	}
	fk, err := conn.Query(ctx, `SELECT DISTINCT cl.relname, pcl.relname
		FROM pg_constraint co
		JOIN pg_class cl ON cl.oid = co.conrelid JOIN pg_namespace n ON n.oid = cl.relnamespace
		JOIN pg_class pcl ON pcl.oid = co.confrelid
		WHERE co.contype = 'f' AND n.nspname = $1`, schema)
	if err != nil {
		return nil, fmt.Errorf("target foreign keys: %w", err)
	}
	defer fk.Close()
	for fk.Next() {
		var child, parent string
		if err := fk.Scan(&child, &parent); err != nil {
			return nil, err
		}
		if t := out[child]; t != nil && parent != child {
			t.Parents = append(t.Parents, parent)
		}
	}
	return out, fk.Err()
}

// pgTypeFor maps a SQLite declared type to the PostgreSQL type of a table
// fleetctl creates itself (only when the app's schema lacks the table). The
// mapping follows SQLite's affinity rules, with the types SQLAlchemy declares
// for Open WebUI made explicit: BOOLEAN stays boolean, JSON becomes json,
// DATE and DATETIME become date and timestamp, BIGINT epochs stay bigint.
func pgTypeFor(decl string) string {
	d := strings.ToUpper(decl)
	base, _, _ := strings.Cut(d, "(")
	switch strings.TrimSpace(base) {
	case "BOOLEAN", "BOOL":
		return "boolean"
	case "JSON":
		return "json"
	case "JSONB":
		return "jsonb"
	case "DATE":
		return "date"
	case "DATETIME", "TIMESTAMP":
		return "timestamp"
	case "BLOB", "BYTEA":
		return "bytea"
	}
	switch {
	case strings.Contains(d, "INT"):
		return "bigint"
	case strings.Contains(d, "CHAR"), strings.Contains(d, "CLOB"), strings.Contains(d, "TEXT"), d == "":
		return "text"
	case strings.Contains(d, "REAL"), strings.Contains(d, "FLOA"), strings.Contains(d, "DOUB"):
		return "double precision"
	case strings.Contains(d, "NUMERIC"), strings.Contains(d, "DECIMAL"):
		return "numeric"
	}
	return "text" // anything else: keep the value, as text
}

// createTableSQL is the CREATE TABLE for a SQLite table missing in the
// target: same columns, mapped types, NOT NULL and the primary key. Indexes
// and foreign keys are left to the application.
func createTableSQL(schema string, t *srcTable) string {
	var cols, pk []string
	pkCols := map[int]string{}
	for _, c := range t.Columns {
		def := pgx.Identifier{c.Name}.Sanitize() + " " + pgTypeFor(c.Type)
		if c.NotNull {
			def += " NOT NULL"
		}
		cols = append(cols, def)
		if c.PK > 0 {
			pkCols[c.PK] = pgx.Identifier{c.Name}.Sanitize()
		}
	}
	for i := 1; i <= len(pkCols); i++ {
		pk = append(pk, pkCols[i])
	}
	if len(pk) > 0 {
		cols = append(cols, "PRIMARY KEY ("+strings.Join(pk, ", ")+")")
	}
	return "CREATE TABLE " + pgx.Identifier{schema, t.Name}.Sanitize() + " (\n  " + strings.Join(cols, ",\n  ") + "\n)"
}
