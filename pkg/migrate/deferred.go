package migrate

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// deferred are the secondary indexes and foreign keys of the tables a copy
// fills, dropped inside the copy's transaction and created again, by their
// own definitions (pg_get_indexdef, pg_get_constraintdef), before the
// verification: one index build and one validating join per key instead of
// an index update and a trigger per row. Being in the same transaction,
// nobody sees the tables without them, and a failure restores them with
// everything else. Primary keys and UNIQUE constraints stay (they may be
// referenced); the foreign keys are validated when they are added, and the
// preflight refused (or quarantined) every orphan before.
type deferred struct {
	indexes []string // CREATE INDEX statements
	fks     []string // ALTER TABLE ... ADD CONSTRAINT statements
}

// deferIndexes drops them, inside a savepoint: a target where that is not
// allowed (another owner) keeps them, and the copy maintains them row by row.
func deferIndexes(ctx context.Context, tx pgx.Tx, schema string, tables []string) (*deferred, error) {
	d := &deferred{}
	if len(tables) == 0 {
		return d, nil
	}
	rows, err := tx.Query(ctx, `SELECT format('%I.%I', n.nspname, ic.relname), pg_get_indexdef(i.indexrelid)
		FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_class ic ON ic.oid = i.indexrelid
		WHERE n.nspname = $1 AND c.relname = ANY($2) AND NOT i.indisprimary
		  AND NOT EXISTS (SELECT 1 FROM pg_constraint co WHERE co.conindid = i.indexrelid)
		ORDER BY 1`, schema, tables)
	if err != nil {
		return nil, fmt.Errorf("indexes: %w", err)
	}
	var dropIdx []string
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			rows.Close()
			return nil, err
		}
		dropIdx = append(dropIdx, name)
		d.indexes = append(d.indexes, def)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = tx.Query(ctx, `SELECT format('%I.%I', n.nspname, c.relname), quote_ident(co.conname), pg_get_constraintdef(co.oid)
		FROM pg_constraint co JOIN pg_class c ON c.oid = co.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE co.contype = 'f' AND n.nspname = $1 AND c.relname = ANY($2) ORDER BY 1, 2`, schema, tables)
	if err != nil {
		return nil, fmt.Errorf("foreign keys: %w", err)
	}
	var dropFK []string
	for rows.Next() {
		var tbl, name, def string
		if err := rows.Scan(&tbl, &name, &def); err != nil {
			rows.Close()
			return nil, err
		}
		dropFK = append(dropFK, "ALTER TABLE "+tbl+" DROP CONSTRAINT "+name)
		d.fks = append(d.fks, "ALTER TABLE "+tbl+" ADD CONSTRAINT "+name+" "+def)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, "SAVEPOINT fleetctl_defer"); err != nil {
		return nil, err
	}
	for _, q := range dropFK {
		if _, err := tx.Exec(ctx, q); err != nil {
			return &deferred{}, rollbackTo(ctx, tx)
		}
	}
	for _, n := range dropIdx {
		if _, err := tx.Exec(ctx, "DROP INDEX "+n); err != nil {
			return &deferred{}, rollbackTo(ctx, tx)
		}
	}
	_, err = tx.Exec(ctx, "RELEASE SAVEPOINT fleetctl_defer")
	return d, err
}

func rollbackTo(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT fleetctl_defer")
	return err
}

// restore creates the indexes, then adds (and so validates) the foreign keys.
func (d *deferred) restore(ctx context.Context, tx pgx.Tx) error {
	for _, q := range d.indexes {
		if _, err := tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("recreate index: %w", err)
		}
	}
	for _, q := range d.fks {
		if _, err := tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("recreate foreign key: %w", err)
		}
	}
	return nil
}
