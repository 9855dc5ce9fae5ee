package migrate

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrDuplicates: rows that are distinct in SQLite collide on a unique key
// once copied (a NUL byte removed, 1 and '1' in one column): PostgreSQL's
// unique index would refuse the second and the copy would fail after the
// downtime began. Refused in the preflight.
var ErrDuplicates = errors.New("rows collide on a unique key")

// DuplicateSet is one unique key's colliding groups.
type DuplicateSet struct {
	Key      string   `json:"key"` // table(col, ...)
	Groups   int64    `json:"groups"`
	Examples []string `json:"examples"`
}

// uniqueKeys lists the source's unique indexes and primary keys as column
// lists (expression indexes are left out: their values are not copied).
func (s *source) uniqueKeys(ctx context.Context, t *srcTable) ([][]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT il.name, ii.seqno, coalesce(ii.name, '') FROM pragma_index_list(?) il, pragma_index_info(il.name) ii
		WHERE il."unique" ORDER BY il.name, ii.seqno`, t.Name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byIdx := map[string][]string{}
	expr := map[string]bool{}
	var names []string
	for rows.Next() {
		var idx, col string
		var seq int
		if err := rows.Scan(&idx, &seq, &col); err != nil {
			return nil, err
		}
		if _, ok := byIdx[idx]; !ok {
			names = append(names, idx)
		}
		byIdx[idx] = append(byIdx[idx], col)
		expr[idx] = expr[idx] || col == ""
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out [][]string
	for _, n := range names {
		if !expr[n] {
			out = append(out, byIdx[n])
		}
	}
	// An INTEGER PRIMARY KEY is the rowid: no index, never a duplicate.
	return out, nil
}

// findDuplicates looks, for each unique key, for rows whose values become
// equal once copied: a NUL byte removed (the rows holding one are few:
// each is normalized and looked up by the index), or a column holding more
// than one storage class (1 and '1'; grouped by text form).
func findDuplicates(ctx context.Context, s *source, tables []*srcTable) ([]DuplicateSet, error) {
	var out []DuplicateSet
	for _, t := range tables {
		keys, err := s.uniqueKeys(ctx, t)
		if err != nil {
			return nil, fmt.Errorf("unique keys of %s: %w", t.Name, err)
		}
		for _, cols := range keys {
			set, err := s.keyDuplicates(ctx, t.Name, cols)
			if err != nil {
				return nil, fmt.Errorf("unique key %s(%s): %w", t.Name, strings.Join(cols, ", "), err)
			}
			if set.Groups > 0 {
				out = append(out, set)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func (s *source) keyDuplicates(ctx context.Context, table string, cols []string) (DuplicateSet, error) {
	set := DuplicateSet{Key: table + "(" + strings.Join(cols, ", ") + ")", Examples: []string{}}
	tbl := sqliteIdent(table)
	var hasNUL, eq, notNull []string
	for _, c := range cols {
		hasNUL = append(hasNUL, "instr(CAST("+sqliteIdent(c)+" AS BLOB), x'00') > 0")
		eq = append(eq, sqliteIdent(c)+" = ?")
		notNull = append(notNull, sqliteIdent(c)+" IS NOT NULL")
	}
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = sqliteIdent(c)
	}
	rows, err := s.db.QueryContext(ctx, "SELECT rowid, "+strings.Join(quoted, ", ")+" FROM "+tbl+" WHERE "+strings.Join(hasNUL, " OR "))
	if err != nil {
		return set, err
	}
	type nulRow struct {
		rowid int64
		norm  []any
	}
	var found []nulRow
	for rows.Next() {
		vals := make([]any, len(cols)+1)
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			rows.Close()
			return set, err
		}
		r := nulRow{rowid: vals[0].(int64)}
		for _, v := range vals[1:] {
			switch x := v.(type) {
			case string:
				v = strings.ReplaceAll(x, "\x00", "")
			case []byte:
				v = strings.ReplaceAll(string(x), "\x00", "")
			}
			r.norm = append(r.norm, v)
		}
		found = append(found, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return set, err
	}
	seen := map[string]bool{}
	for _, r := range found {
		k := fmt.Sprint(r.norm...)
		var n int
		if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM "+tbl+" WHERE "+strings.Join(eq, " AND ")+" AND rowid != ?", append(r.norm, r.rowid)...).Scan(&n); err != nil {
			return set, err
		}
		if n > 0 || seen[k] {
			set.Groups++
			if len(set.Examples) < 3 {
				set.Examples = append(set.Examples, k)
			}
		}
		seen[k] = true
	}
	// More than one storage class in a key column: group by text form.
	var mixed bool
	for _, c := range cols {
		var classes int
		if err := s.db.QueryRowContext(ctx, "SELECT count(DISTINCT typeof("+sqliteIdent(c)+")) FROM "+tbl+" WHERE "+sqliteIdent(c)+" IS NOT NULL").Scan(&classes); err != nil {
			return set, err
		}
		mixed = mixed || classes > 1
	}
	if !mixed {
		return set, nil
	}
	norm := make([]string, len(cols))
	for i, c := range cols {
		norm[i] = "CAST(" + sqliteIdent(c) + " AS TEXT)"
	}
	g, err := s.db.QueryContext(ctx, "SELECT "+strings.Join(norm, " || ',' || ")+" FROM "+tbl+" WHERE "+strings.Join(notNull, " AND ")+
		" GROUP BY "+strings.Join(norm, ", ")+" HAVING count(*) > 1")
	if err != nil {
		return set, err
	}
	defer g.Close()
	for g.Next() {
		var v string
		if err := g.Scan(&v); err != nil {
			return set, err
		}
		set.Groups++
		if len(set.Examples) < 3 {
			set.Examples = append(set.Examples, v)
		}
	}
	return set, g.Err()
}

func duplicateError(sets []DuplicateSet) error {
	var parts []string
	for _, d := range sets {
		parts = append(parts, fmt.Sprintf("%s: %d group(s) (e.g. %s)", d.Key, d.Groups, strings.Join(d.Examples, "; ")))
	}
	return fmt.Errorf("%w: rows distinct in SQLite would be equal in PostgreSQL (a NUL byte removed, or a number and its text in one column), "+
		"and its unique index refuses the second: %s; make them distinct in the application first", ErrDuplicates, strings.Join(parts, "; "))
}
