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

// findDuplicates looks, for each unique key, for groups of rows whose
// values are equal once normalized the way the copy changes them (text
// form, NUL bytes removed). Only keys where such a change can happen (a
// NUL, or more than one storage class in a column) are grouped.
func findDuplicates(ctx context.Context, s *source, tables []*srcTable) ([]DuplicateSet, error) {
	var out []DuplicateSet
	for _, t := range tables {
		keys, err := s.uniqueKeys(ctx, t)
		if err != nil {
			return nil, fmt.Errorf("unique keys of %s: %w", t.Name, err)
		}
		for _, cols := range keys {
			var risky bool
			for _, c := range cols {
				q := fmt.Sprintf(`SELECT EXISTS (SELECT 1 FROM %s WHERE instr(CAST(%s AS TEXT), char(0)) > 0),
					(SELECT count(DISTINCT typeof(%s)) FROM %s WHERE %s IS NOT NULL)`, sqliteIdent(t.Name), sqliteIdent(c), sqliteIdent(c), sqliteIdent(t.Name), sqliteIdent(c))
				var nul bool
				var classes int
				if err := s.db.QueryRowContext(ctx, q).Scan(&nul, &classes); err != nil {
					return nil, fmt.Errorf("unique key %s(%s): %w", t.Name, strings.Join(cols, ", "), err)
				}
				risky = risky || nul || classes > 1
			}
			if !risky {
				continue
			}
			norm := make([]string, len(cols))
			var notNull []string
			for i, c := range cols {
				norm[i] = fmt.Sprintf("replace(CAST(%s AS TEXT), char(0), '')", sqliteIdent(c))
				notNull = append(notNull, sqliteIdent(c)+" IS NOT NULL")
			}
			q := fmt.Sprintf(`SELECT %s FROM %s WHERE %s GROUP BY %s HAVING count(*) > 1`,
				strings.Join(norm, " || ',' || "), sqliteIdent(t.Name), strings.Join(notNull, " AND "), strings.Join(norm, ", "))
			rows, err := s.db.QueryContext(ctx, q)
			if err != nil {
				return nil, fmt.Errorf("unique key %s(%s): %w", t.Name, strings.Join(cols, ", "), err)
			}
			set := DuplicateSet{Key: t.Name + "(" + strings.Join(cols, ", ") + ")", Examples: []string{}}
			for rows.Next() {
				var v string
				if err := rows.Scan(&v); err != nil {
					rows.Close()
					return nil, err
				}
				set.Groups++
				if len(set.Examples) < 3 {
					set.Examples = append(set.Examples, v)
				}
			}
			rows.Close()
			if set.Groups > 0 {
				out = append(out, set)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func duplicateError(sets []DuplicateSet) error {
	var parts []string
	for _, d := range sets {
		parts = append(parts, fmt.Sprintf("%s: %d group(s) (e.g. %s)", d.Key, d.Groups, strings.Join(d.Examples, "; ")))
	}
	return fmt.Errorf("%w: rows distinct in SQLite would be equal in PostgreSQL (a NUL byte removed, or a number and its text in one column), "+
		"and its unique index refuses the second: %s; make them distinct in the application first", ErrDuplicates, strings.Join(parts, "; "))
}
