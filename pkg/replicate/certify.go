package replicate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/quantabase/fleetctl/pkg/pg"
	"github.com/quantabase/fleetctl/pkg/redact"
)

// The probes fleetctl certify runs against a live target as its owner.
// ProbeRole runs inside one transaction that is rolled back (its scratch
// schema is gone afterwards, also when it fails half-way); CanaryProbe
// touches only the certification canary's schema (canary.go).

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

// CanaryProbe reads and changes the canary's target tables as the target's
// owner: the "outside the sync" side of certify's drills (the nodes write
// the canary's source). It touches the canary's schema and reads the
// canary's jobs, nothing else.
type CanaryProbe struct {
	conn         *pgx.Conn
	m            *redact.Masker
	meta, schema string // quoted
}

// OpenCanaryProbe connects to the target as its owner.
func OpenCanaryProbe(ctx context.Context, ownerURL, metaSchema string) (*CanaryProbe, error) {
	m := pg.Masker(ctx, ownerURL)
	conn, err := pg.Connect(ctx, ownerURL, pg.Options{SimpleProtocol: true, AppName: "fleetctl-certify"})
	if err != nil {
		return nil, m.Error(err)
	}
	return &CanaryProbe{conn: conn, m: m, meta: pgx.Identifier{metaSchema}.Sanitize(),
		schema: pgx.Identifier{CanarySchema(metaSchema)}.Sanitize()}, nil
}

// Close closes the connection.
func (p *CanaryProbe) Close() { p.conn.Close(context.Background()) }

// Value is column of row id in the canary's table as text; ok is false
// while the table, the column or the row is not (yet) in the target.
func (p *CanaryProbe) Value(ctx context.Context, table, column, id string) (v string, ok bool, err error) {
	var got *string
	err = p.conn.QueryRow(ctx, `SELECT `+pgx.Identifier{column}.Sanitize()+`::text FROM `+p.schema+`.`+pgx.Identifier{table}.Sanitize()+
		` WHERE id = $1`, id).Scan(&got)
	var pe *pgconn.PgError
	switch {
	case errors.Is(err, pgx.ErrNoRows), errors.As(err, &pe) && (pe.Code == "42P01" || pe.Code == "42703"):
		return "", false, nil
	case err != nil:
		return "", false, p.m.Error(err)
	case got == nil:
		return "", true, nil
	}
	return *got, true, nil
}

// Tamper changes a canary row in the target outside the sync, as an
// application writing to PostgreSQL would.
func (p *CanaryProbe) Tamper(ctx context.Context, table, id, v string, updatedAt int64) error {
	tag, err := p.conn.Exec(ctx, `UPDATE `+p.schema+`.`+pgx.Identifier{table}.Sanitize()+` SET v = $2, updated_at = $3 WHERE id = $1`, id, v, updatedAt)
	if err == nil && tag.RowsAffected() != 1 {
		err = fmt.Errorf("%s: row %s is not in the target", table, id)
	}
	return p.m.Error(err)
}

// Jobs is the id of the canary's newest job and of its newest ok one, and
// who ran that: a pass that started after a given id has id > it.
func (p *CanaryProbe) Jobs(ctx context.Context) (last, lastOK int64, node string, term int64, err error) {
	err = p.conn.QueryRow(ctx, `SELECT coalesce((SELECT max(id) FROM `+p.meta+`.jobs WHERE client = $1), 0),
		coalesce(o.id, 0), coalesce(o.node_id, ''), coalesce(o.term, 0)
		FROM (SELECT 1) x LEFT JOIN LATERAL (SELECT id, node_id, term FROM `+p.meta+`.jobs
		  WHERE client = $1 AND status = 'ok' ORDER BY id DESC LIMIT 1) o ON true`, CanaryClient).Scan(&last, &lastOK, &node, &term)
	return last, lastOK, node, term, p.m.Error(err)
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
