package replicate

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/quantabase/fleetctl/pkg/pg"
)

// The probes fleetctl certify runs against a live target. Each runs as the
// target's owner inside one transaction that is rolled back: whatever it
// creates (a scratch schema, a scratch table, conflicts, row hashes) is gone
// afterwards, also when it fails half-way.

// RoleProbe is one thing the nodes' role must not be able to do, and what
// PostgreSQL answered when it was tried.
type RoleProbe struct {
	Action  string `json:"action"`
	Refused bool   `json:"refused"`
	Answer  string `json:"answer"` // the server's error, or "allowed"
}

// ProbeRole tries, as role (SET LOCAL ROLE from the owner, who was granted
// it by Provision), to create a role, to read a table of another schema and
// to drop it, and to drop the public schema. The other schema is a scratch
// one the owner creates in the same transaction.
func ProbeRole(ctx context.Context, ownerURL, role string) ([]RoleProbe, error) {
	if !roleName.MatchString(role) {
		return nil, fmt.Errorf("sync role %q: not a plain identifier", role)
	}
	m := pg.Masker(ctx, ownerURL)
	conn, err := pg.Connect(ctx, ownerURL, pg.Options{SimpleProtocol: true, AppName: "fleetctl-certify"})
	if err != nil {
		return nil, m.Error(err)
	}
	defer conn.Close(context.Background())
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, m.Error(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	other := "fleetctl_certify_" + randSuffix()
	if _, err := tx.Exec(ctx, "CREATE SCHEMA "+other+"; CREATE TABLE "+other+".secret (v text); INSERT INTO "+other+".secret VALUES ('x')"); err != nil {
		return nil, m.Error(fmt.Errorf("scratch schema: %w", err))
	}
	if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+pgx.Identifier{role}.Sanitize()); err != nil {
		return nil, m.Error(fmt.Errorf("become %s: %w", role, err))
	}
	var out []RoleProbe
	for _, p := range []struct{ action, sql string }{
		{"create a role", "CREATE ROLE fleetctl_certify_probe_" + randSuffix()},
		{"read another schema's table", "SELECT v FROM " + other + ".secret"},
		{"drop another schema's table", "DROP TABLE " + other + ".secret"},
		{"drop schema public", "DROP SCHEMA public"},
		{"create a schema", "CREATE SCHEMA fleetctl_certify_probe_" + randSuffix()},
	} {
		if _, err := tx.Exec(ctx, "SAVEPOINT probe"); err != nil {
			return nil, m.Error(err)
		}
		r := RoleProbe{Action: p.action, Answer: "allowed"}
		if _, err := tx.Exec(ctx, p.sql); err != nil {
			r.Refused, r.Answer = true, m.String(pgMessage(err))
		}
		if _, err := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT probe"); err != nil {
			return nil, m.Error(err)
		}
		out = append(out, r)
	}
	return out, nil
}

// DrillResult is one strategy's conflict drill: the row the target holds
// afterwards and whether the conflict was recorded as expected.
type DrillResult struct {
	Strategy Strategy `json:"strategy"`
	Want     string   `json:"want"` // "source" or "target"
	Got      string   `json:"got"`
	Recorded string   `json:"recorded"` // the conflict's outcome in conflicts
	Open     bool     `json:"open"`     // left for a manual resolution
}

// OK says whether the drill went as the strategy promises.
func (d DrillResult) OK() bool {
	return d.Got == d.Want && d.Recorded != "" && d.Open == (d.Strategy == Manual)
}

// ConflictDrill runs each strategy end to end through the replication code
// on a scratch table in client's schema: a scratch SQLite row is synced, the
// target row is changed outside the sync (updated_at 200) while the source
// changes too (updated_at 300), and the next pass decides. Everything
// happens in transactions that are rolled back. namespace is the fleet's
// sync.namespace ("" for none): the client's schema is in it.
func ConflictDrill(ctx context.Context, ownerURL, metaSchema, namespace, client string) ([]DrillResult, error) {
	m := pg.Masker(ctx, ownerURL)
	dir, err := os.MkdirTemp("", "fleetctl-certify-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	conn, err := pg.Connect(ctx, ownerURL, pg.Options{SimpleProtocol: true, AppName: "fleetctl-certify"})
	if err != nil {
		return nil, m.Error(err)
	}
	defer conn.Close(context.Background())
	table := "fleetctl_certify_" + randSuffix()
	var out []DrillResult
	for i, s := range Strategies {
		path := filepath.Join(dir, fmt.Sprintf("%d.db", i))
		r, err := drill(ctx, conn, path, metaSchema, NamespacedClientSchema(namespace, client), client, table, s)
		if err != nil {
			return out, m.Error(fmt.Errorf("strategy %s: %w", s, err))
		}
		out = append(out, r)
	}
	return out, nil
}

func drill(ctx context.Context, conn *pgx.Conn, path, metaSchema, schema, client, table string, s Strategy) (DrillResult, error) {
	r := DrillResult{Strategy: s, Want: "source"}
	if s == TargetWins || s == OldestWins || s == Manual {
		r.Want = "target"
	}
	w, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return r, err
	}
	defer w.Close()
	if _, err := w.ExecContext(ctx, `CREATE TABLE `+table+` (id TEXT PRIMARY KEY, v TEXT, updated_at BIGINT);
		INSERT INTO `+table+` VALUES ('r1', 'first', 100)`); err != nil {
		return r, fmt.Errorf("scratch SQLite: %w", err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return r, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	shapes, err := ensureShapes(ctx, tx, w, schema)
	if err != nil {
		return r, err
	}
	var sh *shape
	for _, x := range shapes {
		if x.Table == table {
			sh = x
		}
	}
	if sh == nil {
		return r, errors.New("scratch table not described")
	}
	meta := pgx.Identifier{metaSchema}.Sanitize()
	p := &tablePass{tx: tx, src: w, meta: meta, client: client, sh: sh, tok: Token{Holder: "fleetctl-certify"}, strategy: s}
	if _, err := p.incremental(ctx); err != nil {
		return r, fmt.Errorf("first pass: %w", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE `+sh.quotedName+` SET v = 'target', updated_at = 200 WHERE id = 'r1'`); err != nil {
		return r, err
	}
	if _, err := w.ExecContext(ctx, `UPDATE `+table+` SET v = 'source', updated_at = 300 WHERE id = 'r1'`); err != nil {
		return r, err
	}
	if _, err := tx.Exec(ctx, "DROP TABLE _s"); err != nil { // both passes share one transaction
		return r, err
	}
	if _, err := p.incremental(ctx); err != nil {
		return r, fmt.Errorf("second pass: %w", err)
	}
	if err := tx.QueryRow(ctx, `SELECT v FROM `+sh.quotedName+` WHERE id = 'r1'`).Scan(&r.Got); err != nil {
		return r, err
	}
	err = tx.QueryRow(ctx, `SELECT outcome, resolved_at IS NULL FROM `+meta+`.conflicts
		WHERE client = $1 AND tbl = $2 ORDER BY id DESC LIMIT 1`, client, table).Scan(&r.Recorded, &r.Open)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return r, err
	}
	return r, nil
}

// Watermarks are the target's watermarks, "client/table" → value.
func Watermarks(ctx context.Context, url, metaSchema string) (map[string]int64, error) {
	m := pg.Masker(ctx, url)
	conn, err := pg.Connect(ctx, url, pg.Options{SimpleProtocol: true, AppName: "fleetctl-certify"})
	if err != nil {
		return nil, m.Error(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, `SELECT client || '/' || tbl, watermark FROM `+pgx.Identifier{metaSchema}.Sanitize()+`.watermarks`)
	if err != nil {
		return nil, m.Error(fmt.Errorf("watermarks: %w", err))
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var k string
		var v int64
		if err := rows.Scan(&k, &v); err != nil {
			return nil, m.Error(err)
		}
		out[k] = v
	}
	return out, m.Error(rows.Err())
}

// OKJobInTerm says whether a pass of term finished ok.
func OKJobInTerm(ctx context.Context, url, metaSchema string, term int64) (bool, error) {
	m := pg.Masker(ctx, url)
	conn, err := pg.Connect(ctx, url, pg.Options{SimpleProtocol: true, AppName: "fleetctl-certify"})
	if err != nil {
		return false, m.Error(err)
	}
	defer conn.Close(context.Background())
	var ok bool
	err = conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+pgx.Identifier{metaSchema}.Sanitize()+`.jobs
		WHERE term = $1 AND status = 'ok')`, term).Scan(&ok)
	return ok, m.Error(err)
}

// TermWrites is how many rows the passes of term wrote, and how many rows
// the sync has written in all (row hashes): a node that resumed from the
// watermarks writes far fewer than all of them.
func TermWrites(ctx context.Context, url, metaSchema string, term int64) (written, total int64, err error) {
	m := pg.Masker(ctx, url)
	conn, err := pg.Connect(ctx, url, pg.Options{SimpleProtocol: true, AppName: "fleetctl-certify"})
	if err != nil {
		return 0, 0, m.Error(err)
	}
	defer conn.Close(context.Background())
	meta := pgx.Identifier{metaSchema}.Sanitize()
	err = conn.QueryRow(ctx, `SELECT (SELECT coalesce(sum(rows_written), 0)::bigint FROM `+meta+`.jobs WHERE term = $1),
		(SELECT count(*) FROM `+meta+`.row_hashes)`, term).Scan(&written, &total)
	return written, total, m.Error(err)
}

func pgMessage(err error) string {
	s := err.Error()
	if i := strings.Index(s, " (SQLSTATE"); i > 0 {
		s = s[:i]
	}
	return strings.TrimPrefix(s, "ERROR: ")
}

func randSuffix() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}
