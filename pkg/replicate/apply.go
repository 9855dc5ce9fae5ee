package replicate

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// conflictRow is a target row changed outside the sync since the node last
// wrote it (its hash is not the one row_hashes holds, or it has none: the
// sync never wrote it), met by a source change.
type conflictRow struct {
	PK             string
	Source, Target *string // row_to_json; Source nil for a delete
	TargetHash     string
	SrcUpd, TgtUpd *int64
}

// apply writes the staged rows _s into the table: rows held by an open
// manual conflict are taken out (the conflict keeps the newest source
// version), new conflicts are decided by the strategy and recorded, and the
// rest is upserted where it differs; each written row's hash goes to
// row_hashes with the term that wrote it.
func (p *tablePass) apply(ctx context.Context, st *tableStats) error {
	sh, m := p.sh, p.meta
	if _, err := p.tx.Exec(ctx, `WITH h AS (UPDATE `+m+`.conflicts c SET source_row = row_to_json(s)
		FROM _s s WHERE c.client = $1 AND c.tbl = $2 AND c.resolved_at IS NULL AND c.pk = `+sh.pkExpr("s")+`
		RETURNING c.pk)
		DELETE FROM _s s USING h WHERE `+sh.pkExpr("s")+` = h.pk`, p.client, sh.Table); err != nil {
		return fmt.Errorf("held rows %s: %w", sh.Table, err)
	}
	// A source version a strategy (or a resolution) already decided against
	// is not written when read again (rows at the watermark are re-read
	// every pass) while the kept target row is unchanged.
	if _, err := p.tx.Exec(ctx, `DELETE FROM _s s USING `+sh.quotedName+` t, `+m+`.row_hashes h
		WHERE `+sh.pkMatch("s", "t")+` AND h.client = $1 AND h.tbl = $2 AND h.pk = `+sh.pkExpr("s")+`
		  AND h.kept_source = md5(row_to_json(s)::text) AND h.hash = md5(t::text) AND NOT $3`, p.client, sh.Table, testForgetKept()); err != nil {
		return fmt.Errorf("kept rows %s: %w", sh.Table, err)
	}
	upd := "NULL::bigint, NULL::bigint"
	if sh.hasUpdatedAt() {
		upd = sh.updatedAtInt("s") + ", " + sh.updatedAtInt("t")
	}
	// A target row the sync never wrote (no row hash: written outside the
	// sync) that differs from the source is a conflict too, as in deletes;
	// one equal to the source is taken as the sync's own (adopt).
	if !p.keyed { // rows mode: recordSource does it, with the line hash
		if _, err := p.tx.Exec(ctx, `INSERT INTO `+m+`.row_hashes (client, tbl, pk, hash, term, written_at)
			SELECT $1, $2, `+sh.pkExpr("t")+`, md5(t::text), $3, clock_timestamp()
			FROM _s s JOIN `+sh.quotedName+` t ON `+sh.pkMatch("s", "t")+`
			WHERE `+sh.textRow("s")+` IS NOT DISTINCT FROM `+sh.textRow("t")+`
			  AND NOT EXISTS (SELECT 1 FROM `+m+`.row_hashes h WHERE h.client = $1 AND h.tbl = $2 AND h.pk = `+sh.pkExpr("t")+`)
			ON CONFLICT (client, tbl, pk) DO NOTHING`, p.client, sh.Table, p.tok.Term); err != nil {
			return fmt.Errorf("adopt rows %s: %w", sh.Table, err)
		}
	}
	rows, err := p.tx.Query(ctx, `SELECT `+sh.pkExpr("t")+`, row_to_json(s)::text, row_to_json(t)::text, md5(t::text), `+upd+`
		FROM _s s JOIN `+sh.quotedName+` t ON `+sh.pkMatch("s", "t")+`
		LEFT JOIN `+m+`.row_hashes h ON h.client = $1 AND h.tbl = $2 AND h.pk = `+sh.pkExpr("t")+`
		WHERE h.hash IS DISTINCT FROM md5(t::text) AND `+sh.textRow("s")+` IS DISTINCT FROM `+sh.textRow("t"), p.client, sh.Table)
	if err != nil {
		return fmt.Errorf("conflicts %s: %w", sh.Table, err)
	}
	var found []conflictRow
	for rows.Next() {
		var c conflictRow
		if err := rows.Scan(&c.PK, &c.Source, &c.Target, &c.TargetHash, &c.SrcUpd, &c.TgtUpd); err != nil {
			rows.Close()
			return err
		}
		found = append(found, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("conflicts %s: %w", sh.Table, err)
	}
	skip, err := p.decide(ctx, found, st)
	if err != nil {
		return err
	}
	if len(skip) > 0 {
		if _, err := p.tx.Exec(ctx, `DELETE FROM _s s WHERE `+sh.pkExpr("s")+` = ANY($1::text[])`, skip); err != nil {
			return fmt.Errorf("skip rows %s: %w", sh.Table, err)
		}
	}
	set := "DO NOTHING"
	if np := sh.nonPK(); len(np) > 0 {
		parts := make([]string, len(np))
		for i, c := range np {
			q := pgx.Identifier{c}.Sanitize()
			parts[i] = q + " = EXCLUDED." + q
		}
		set = "DO UPDATE SET " + strings.Join(parts, ", ")
	}
	tag, err := p.tx.Exec(ctx, `WITH w AS (
		INSERT INTO `+sh.quotedName+` AS t (`+qcols(sh.Cols, "")+`)
		SELECT `+qcols(sh.Cols, "s")+` FROM _s s
		WHERE NOT EXISTS (SELECT 1 FROM `+sh.quotedName+` x WHERE `+sh.pkMatch("x", "s")+`
		  AND `+sh.textRow("x")+` IS NOT DISTINCT FROM `+sh.textRow("s")+`)
		ON CONFLICT (`+qcols(sh.PK, "")+`) `+set+`
		RETURNING `+sh.pkExpr("t")+` AS pk, md5(t::text) AS h)
		INSERT INTO `+m+`.row_hashes (client, tbl, pk, hash, term, written_at)
		SELECT $1, $2, pk, h, $3, clock_timestamp() FROM w
		ON CONFLICT (client, tbl, pk) DO UPDATE SET hash = EXCLUDED.hash, term = EXCLUDED.term, written_at = EXCLUDED.written_at, kept_source = NULL`,
		p.client, sh.Table, p.tok.Term)
	if err != nil {
		return fmt.Errorf("upsert %s: %w", sh.Table, err)
	}
	st.Written += tag.RowsAffected()
	return nil
}

// decide applies the strategy to each conflict, records it with both
// versions, and returns the keys to leave alone this pass.
func (p *tablePass) decide(ctx context.Context, found []conflictRow, st *tableStats) ([]string, error) {
	var skip []string
	for _, c := range found {
		out := Decide(p.strategy, Versions{SourceUpdated: c.SrcUpd, TargetUpdated: c.TgtUpd, SourceDeleted: c.Source == nil})
		st.Conflicts++
		q := `INSERT INTO ` + p.meta + `.conflicts (client, tbl, pk, strategy, outcome, source_row, target_row, node_id, term, detected_at, resolved_at, resolution, resolved_by)
			VALUES ($1, $2, $3, $4, $5, $6::json, $7::json, $8, $9, clock_timestamp(), clock_timestamp(), $5, 'strategy')`
		if out == Hold {
			q = `INSERT INTO ` + p.meta + `.conflicts (client, tbl, pk, strategy, outcome, source_row, target_row, node_id, term, detected_at)
			VALUES ($1, $2, $3, $4, $5, $6::json, $7::json, $8, $9, clock_timestamp())`
		}
		if _, err := p.tx.Exec(ctx, q, p.client, p.sh.Table, c.PK, string(p.strategy), string(out), c.Source, c.Target, p.tok.Holder, p.tok.Term); err != nil {
			return nil, fmt.Errorf("record conflict %s: %w", p.sh.Table, err)
		}
		if out != Hold {
			st.Resolved++
		}
		switch out {
		case KeepTarget:
			// The target's version is accepted as if the sync had written
			// it: the next source change of the row overwrites it again.
			if err := p.setHash(ctx, c.PK, c.TargetHash, keptSource(c.Source)); err != nil {
				return nil, err
			}
			skip = append(skip, c.PK)
		case Hold:
			skip = append(skip, c.PK)
		}
	}
	return skip, nil
}

// setHash records the target row's hash as the sync's own; kept, when not
// empty, is the source version decided against (keptSource). In a chunked
// full pass the kept row's source line hash is accepted too (its chunk then
// compares equal until the source changes it).
func (p *tablePass) setHash(ctx context.Context, pk, hash, kept string) error {
	src := "NULL::bigint"
	if p.keyed {
		src = `(SELECT k._src FROM _k k WHERE ` + p.sh.pkExpr("k") + ` = $3)`
	}
	_, err := p.tx.Exec(ctx, `INSERT INTO `+p.meta+`.row_hashes (client, tbl, pk, hash, src, term, written_at, kept_source)
		VALUES ($1, $2, $3, $4, `+src+`, $5, clock_timestamp(), nullif($6, '')) ON CONFLICT (client, tbl, pk) DO UPDATE
		SET hash = EXCLUDED.hash, src = EXCLUDED.src, term = EXCLUDED.term, written_at = EXCLUDED.written_at, kept_source = EXCLUDED.kept_source`,
		p.client, p.sh.Table, pk, hash, p.tok.Term, kept)
	if err != nil {
		return fmt.Errorf("row hash %s: %w", p.sh.Table, err)
	}
	return nil
}

// keptSource marks the source version a kept target row won against: the
// md5 of its row_to_json text (as PostgreSQL's md5 of the same text), or
// "deleted" when the source deleted the row.
func keptSource(src *string) string {
	if src == nil {
		return "deleted"
	}
	sum := md5.Sum([]byte(*src))
	return hex.EncodeToString(sum[:])
}

// deletes removes the target rows whose keys the staged full key set _s
// lacks. A row the sync never wrote, or that changed since, is a conflict
// (the source deleted it): the strategy decides.
func (p *tablePass) deletes(ctx context.Context, st *tableStats) error {
	sh, m := p.sh, p.meta
	rows, err := p.tx.Query(ctx, `SELECT `+sh.pkExpr("t")+`, row_to_json(t)::text, md5(t::text), coalesce(h.hash = md5(t::text), false)
		FROM `+sh.quotedName+` t
		LEFT JOIN `+m+`.row_hashes h ON h.client = $1 AND h.tbl = $2 AND h.pk = `+sh.pkExpr("t")+`
		WHERE NOT EXISTS (SELECT 1 FROM `+p.keySet()+` s WHERE `+sh.pkMatch("s", "t")+`)`+p.scope+`
		  AND NOT EXISTS (SELECT 1 FROM `+m+`.conflicts c WHERE c.client = $1 AND c.tbl = $2
		    AND c.resolved_at IS NULL AND c.pk = `+sh.pkExpr("t")+`)
		  AND NOT coalesce(h.kept_source = 'deleted' AND h.hash = md5(t::text), false)`, p.client, sh.Table)
	if err != nil {
		return fmt.Errorf("deletes %s: %w", sh.Table, err)
	}
	var gone []string
	var found []conflictRow
	for rows.Next() {
		var c conflictRow
		var clean bool
		if err := rows.Scan(&c.PK, &c.Target, &c.TargetHash, &clean); err != nil {
			rows.Close()
			return err
		}
		if clean {
			gone = append(gone, c.PK)
		} else {
			found = append(found, c)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("deletes %s: %w", sh.Table, err)
	}
	skip, err := p.decide(ctx, found, st)
	if err != nil {
		return err
	}
	kept := map[string]bool{}
	for _, k := range skip {
		kept[k] = true
	}
	for _, c := range found {
		if !kept[c.PK] {
			gone = append(gone, c.PK)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	tag, err := p.tx.Exec(ctx, `DELETE FROM `+sh.quotedName+` t WHERE `+sh.pkExpr("t")+` = ANY($1::text[])`, gone)
	if err != nil {
		return fmt.Errorf("delete %s: %w", sh.Table, err)
	}
	st.Deleted += tag.RowsAffected()
	if _, err := p.tx.Exec(ctx, `DELETE FROM `+m+`.row_hashes WHERE client = $1 AND tbl = $2 AND pk = ANY($3::text[])`, p.client, sh.Table, gone); err != nil {
		return fmt.Errorf("delete row hashes %s: %w", sh.Table, err)
	}
	return nil
}
