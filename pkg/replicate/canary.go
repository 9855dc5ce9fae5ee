package replicate

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/quantabase/fleetctl/pkg/resource"
)

// The certification canary: a small SQLite database that belongs to the
// sync deployment (its own volume, mounted in every node), never to a
// client. The leader replicates it like a client — same passes, lease,
// fencing and conflict code — into its own schema (CanarySchema, owned by
// the nodes' role), with a strategy per table of its own (one table per
// strategy), whatever fleet.yaml's strategies say. fleetctl certify writes
// the canary's rows through the admin API (POST /api/v1/canary, on the
// leader) and changes its target rows as the target's owner, so its drills
// go through the deployed nodes and never touch a client's data.

// CanaryClient is the canary's name in the metadata (jobs, watermarks,
// conflicts): not a client name (those are DNS labels), and kept apart from
// the clients in /health, the lag metric and sync status.
const CanaryClient = "_canary"

// Canary tables: one per strategy, and one whose shape certify changes.
const (
	CanaryShapeTable  = "shape_probe"
	CanaryAddedColumn = "added" // the column add-column adds to CanaryShapeTable
)

// CanarySchema is the canary's target schema: the metadata schema's name
// with _canary (several fleets on one database keep theirs apart as they
// keep their metadata apart).
func CanarySchema(metaSchema string) string { return resource.CanarySchemaOf(metaSchema) }

// CanaryTable is the canary table replicated with strategy s.
func CanaryTable(s Strategy) string { return "conflict_" + string(s) }

func canaryTables() []string {
	out := []string{CanaryShapeTable}
	for _, s := range Strategies {
		out = append(out, CanaryTable(s))
	}
	return out
}

// canaryStrategy is the canary's strategy of table (source_wins for the
// shape table).
func canaryStrategy(table string) Strategy {
	for _, s := range Strategies {
		if CanaryTable(s) == table {
			return s
		}
	}
	return SourceWins
}

const canaryTableDDL = ` (id TEXT PRIMARY KEY, v TEXT, updated_at BIGINT)`

// CanaryOp is the body of POST /api/v1/canary: reset drops and recreates
// the canary's tables on both sides (and its watermarks, row hashes and
// conflicts); write upserts Rows into the canary's SQLite; add-column adds
// CanaryAddedColumn to Table in SQLite only (the node's cached shape does
// not know it until the cache expires).
type CanaryOp struct {
	Op    string      `json:"op"`
	Rows  []CanaryRow `json:"rows,omitempty"`
	Table string      `json:"table,omitempty"`
}

// CanaryRow is one canary row; Added sets CanaryAddedColumn.
type CanaryRow struct {
	Table     string  `json:"table"`
	ID        string  `json:"id"`
	V         string  `json:"v"`
	UpdatedAt int64   `json:"updatedAt"`
	Added     *string `json:"added,omitempty"`
}

type canaryReq struct {
	op   CanaryOp
	done chan error
}

// openCanary opens the canary for writing (creating it and its tables when
// missing) and registers it as the last client.
func (n *Node) openCanary(ctx context.Context) error {
	db, err := sql.Open("sqlite", "file:"+n.cfg.Canary+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(wal)")
	if err != nil {
		return fmt.Errorf("canary %s: %w", n.cfg.Canary, err)
	}
	db.SetMaxOpenConns(1)
	for _, t := range canaryTables() {
		if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+t+canaryTableDDL); err != nil {
			db.Close()
			return fmt.Errorf("canary %s: %w", n.cfg.Canary, err)
		}
	}
	n.canaryDB = db
	n.canary = &clientState{Client: Client{Name: CanaryClient, SQLitePath: n.cfg.Canary}, schema: CanarySchema(n.cfg.MetaSchema), canary: true}
	n.clients[CanaryClient] = n.canary
	return nil
}

// canaryOp runs one canary operation; the sync loop calls it between
// passes, so no pass reads the canary while its shape changes.
func (n *Node) canaryOp(ctx context.Context, op CanaryOp) error {
	tok, ok := n.Token()
	if !ok {
		return ErrNotLeader
	}
	switch op.Op {
	case "reset":
		schema := pgx.Identifier{n.canary.schema}.Sanitize()
		err := fencedTx(ctx, n.db, n.meta, tok, idleInTx, func(tx pgx.Tx) error {
			for _, t := range canaryTables() {
				if _, err := tx.Exec(ctx, "DROP TABLE IF EXISTS "+schema+"."+pgx.Identifier{t}.Sanitize()); err != nil {
					return err
				}
			}
			for _, t := range []string{"watermarks", "row_hashes", "conflicts"} {
				if _, err := tx.Exec(ctx, `DELETE FROM `+n.meta+`.`+t+` WHERE client = $1`, CanaryClient); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("reset the canary's target: %w", err)
		}
		n.mu.Lock()
		n.canary.shapes = nil
		n.mu.Unlock()
		return n.canaryTx(ctx, func(tx *sql.Tx) error {
			for _, t := range canaryTables() {
				if _, err := tx.ExecContext(ctx, `DROP TABLE IF EXISTS `+t+`; CREATE TABLE `+t+canaryTableDDL); err != nil {
					return err
				}
			}
			return nil
		})
	case "write":
		return n.canaryTx(ctx, func(tx *sql.Tx) error {
			for _, r := range op.Rows {
				if !slices.Contains(canaryTables(), r.Table) || r.ID == "" {
					return fmt.Errorf("write: %q is not a canary table", r.Table)
				}
				q, args := `INSERT INTO `+r.Table+` (id, v, updated_at) VALUES (?, ?, ?)
					ON CONFLICT (id) DO UPDATE SET v = excluded.v, updated_at = excluded.updated_at`, []any{r.ID, r.V, r.UpdatedAt}
				if r.Added != nil {
					q = `INSERT INTO ` + r.Table + ` (id, v, updated_at, ` + CanaryAddedColumn + `) VALUES (?, ?, ?, ?)
					ON CONFLICT (id) DO UPDATE SET v = excluded.v, updated_at = excluded.updated_at, ` + CanaryAddedColumn + ` = excluded.` + CanaryAddedColumn
					args = append(args, *r.Added)
				}
				if _, err := tx.ExecContext(ctx, q, args...); err != nil {
					return fmt.Errorf("write %s: %w", r.Table, err)
				}
			}
			return nil
		})
	case "add-column":
		if op.Table != CanaryShapeTable {
			return fmt.Errorf("add-column: only %s changes its shape", CanaryShapeTable)
		}
		return n.canaryTx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `ALTER TABLE `+op.Table+` ADD COLUMN `+CanaryAddedColumn+` TEXT`)
			return err
		})
	}
	return fmt.Errorf("unknown canary op %q (want reset, write or add-column)", op.Op)
}

func (n *Node) canaryTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := n.canaryDB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("canary: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return fmt.Errorf("canary: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("canary: %w", err)
	}
	return nil
}

// canaryHandler is POST /api/v1/canary: on the leader, the operation runs
// in the sync loop between two passes; 200 when done.
func (n *Node) canaryHandler(w http.ResponseWriter, r *http.Request) {
	if n.canary == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "this node has no canary (--canary)"})
		return
	}
	var op CanaryOp
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&op); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "want a JSON canary operation"})
		return
	}
	if role, _ := n.Role(); role != Leader {
		writeJSON(w, http.StatusConflict, map[string]string{"error": "not the leader", "leader": n.Health().Leader})
		return
	}
	req := canaryReq{op: op, done: make(chan error, 1)}
	select {
	case n.canaryOps <- req:
	case <-r.Context().Done():
		return
	}
	var err error
	select {
	case err = <-req.done:
	case <-r.Context().Done():
		return
	}
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, map[string]string{"status": "done"})
	case errors.Is(err, ErrNotLeader), errors.Is(err, ErrFenced):
		writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
	default:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": n.masker.String(err.Error())})
	}
}
