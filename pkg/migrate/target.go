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
// target (a plugin's, a newer version's): same columns, mapped types, NOT
// NULL, translated DEFAULTs, the primary key (a single INTEGER PRIMARY KEY,
// SQLite's rowid, AUTOINCREMENT or not, becomes an identity column so the
// next insert gets the next id), its UNIQUE constraints and its foreign
// keys with their ON DELETE action. What cannot be carried was refused in
// the preflight (unsupported).
func createTableSQL(schema string, t *srcTable, uniques [][]string, fks []fkDef) string {
	var cols, pk []string
	pkCols := map[int]string{}
	for _, c := range t.Columns {
		if c.PK > 0 {
			pkCols[c.PK] = c.Name
		}
	}
	identity := len(pkCols) == 1 && rowidAlias(t, pkCols[1])
	for _, c := range t.Columns {
		typ := pgTypeFor(c.Type)
		def := pgx.Identifier{c.Name}.Sanitize() + " " + typ
		if identity && c.Name == pkCols[1] {
			def = pgx.Identifier{c.Name}.Sanitize() + " bigint GENERATED BY DEFAULT AS IDENTITY"
		}
		if c.NotNull {
			def += " NOT NULL"
		}
		if c.Default != nil {
			if d, ok := pgDefault(*c.Default, typ); ok && d != "NULL" {
				def += " DEFAULT " + d
			}
		}
		cols = append(cols, def)
	}
	for i := 1; i <= len(pkCols); i++ {
		pk = append(pk, pgx.Identifier{pkCols[i]}.Sanitize())
	}
	if len(pk) > 0 {
		cols = append(cols, "PRIMARY KEY ("+strings.Join(pk, ", ")+")")
	}
	for _, u := range uniques {
		if strings.Join(u, ",") == strings.Join(pkOf(pkCols), ",") {
			continue
		}
		cols = append(cols, "UNIQUE ("+identList(u)+")")
	}
	for _, f := range fks {
		if f.Child != t.Name {
			continue
		}
		fk := "FOREIGN KEY (" + identList(f.Cols) + ") REFERENCES " + pgx.Identifier{schema, f.Parent}.Sanitize() + " (" + identList(f.PCols) + ")"
		switch a := strings.ToUpper(f.OnDelete); a {
		case "CASCADE", "SET NULL", "SET DEFAULT", "RESTRICT":
			fk += " ON DELETE " + a
		}
		cols = append(cols, fk)
	}
	return "CREATE TABLE " + pgx.Identifier{schema, t.Name}.Sanitize() + " (\n  " + strings.Join(cols, ",\n  ") + "\n)"
}

// rowidAlias: the column is SQLite's INTEGER PRIMARY KEY (the rowid, filled
// by SQLite when an insert leaves it out), with or without AUTOINCREMENT.
func rowidAlias(t *srcTable, col string) bool {
	for _, c := range t.Columns {
		if c.Name == col {
			return c.Type == "INTEGER"
		}
	}
	return false
}

func pkOf(pk map[int]string) []string {
	out := make([]string, 0, len(pk))
	for i := 1; i <= len(pk); i++ {
		out = append(out, pk[i])
	}
	return out
}

func identList(cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = pgx.Identifier{c}.Sanitize()
	}
	return strings.Join(q, ", ")
}
