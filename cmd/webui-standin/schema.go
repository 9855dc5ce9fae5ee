package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/quantabase/fleetctl/pkg/openwebui"
)

// What the app does to its database at start-up, in one transaction here:
//   - Alembic `upgrade head`: the real v0.11.0 tables (pkg/openwebui), and
//     alembic_version holding the head, only when alembic_version is not
//     there yet (a restart changes nothing);
//   - the lifespan's seed of `config` (key text PK, value json, updated_at
//     in seconds): keys missing from the table are inserted, present ones
//     are never overwritten (the database value wins);
//   - with WEBUI_ADMIN_EMAIL and WEBUI_ADMIN_PASSWORD, the admin `user` and
//     `auth` rows when no user exists, then ui.enable_signup = false.

// initResult says what initialize did, for the start-up line.
type initResult struct {
	Schema   string // "created", "present", or "left alone: …"
	Seeded   int    // config rows inserted
	Admin    bool   // the admin user was created
	Revision string // alembic_version after the step
}

func (s *store) initialize(ctx context.Context, c config) (initResult, error) {
	var r initResult
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return r, s.clean(err)
	}
	defer tx.Rollback()
	if err := s.dialect.lock(ctx, tx); err != nil {
		return r, fmt.Errorf("schema lock: %w", s.clean(err))
	}
	present, err := s.dialect.schemaPresent(ctx, tx)
	if err != nil {
		return r, fmt.Errorf("schema: %w", s.clean(err))
	}
	if !present {
		if err := s.dialect.createSchema(ctx, tx); err != nil {
			return r, fmt.Errorf("schema %s: %w", openwebui.Version, s.clean(err))
		}
		if _, err := tx.ExecContext(ctx, s.dialect.bind(`INSERT INTO alembic_version (version_num) VALUES (?)`), openwebui.Head); err != nil {
			return r, fmt.Errorf("schema: %w", s.clean(err))
		}
		r.Schema = "created"
	}
	if err := tx.QueryRowContext(ctx, `SELECT version_num FROM alembic_version`).Scan(&r.Revision); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("schema: %w", s.clean(err))
	}
	if present && r.Revision != openwebui.Head {
		// The app logs and swallows a failed upgrade and goes on; the stand-in
		// knows only the v0.11.0 tables, so it leaves them alone and seeds
		// nothing into a shape it does not know.
		r.Schema = fmt.Sprintf("left alone: alembic_version is %q, this stand-in creates only %s (%s)",
			r.Revision, openwebui.Head, openwebui.Version)
		return r, s.clean(tx.Commit())
	}
	if r.Schema == "" {
		r.Schema = "present"
	}
	now := time.Now().Unix()
	if r.Seeded, err = s.seedConfig(ctx, tx, c.defaults, now); err != nil {
		return r, fmt.Errorf("seed config: %w", s.clean(err))
	}
	if c.admin.email != "" && c.admin.password != "" {
		if r.Admin, err = s.createAdmin(ctx, tx, c.admin, now); err != nil {
			return r, fmt.Errorf("admin user: %w", s.clean(err))
		}
	}
	return r, s.clean(tx.Commit())
}

func (sqliteDialect) createSchema(ctx context.Context, tx *sql.Tx) error {
	stmts, err := openwebui.SQLiteSchema(openwebui.Version)
	if err != nil {
		return err
	}
	for _, stmt := range stmts {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	return nil
}

func (pgDialect) createSchema(ctx context.Context, tx *sql.Tx) error {
	script, err := openwebui.PostgresSchema(openwebui.Version, "")
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, script) // simple protocol: one round trip
	return err
}

// configDefaults are the seeded keys: a few of the app's own, with the
// values its environment gives them. OAuth keys are not persistent by
// default (ENABLE_OAUTH_PERSISTENT_CONFIG=false), so none is seeded.
func configDefaults(d seedDefaults) [][2]any {
	return [][2]any{
		{"webui.url", d.webuiURL},
		{"ui.enable_signup", d.enableSignup},
		{"ui.default_user_role", d.defaultUserRole},
		{"ui.enable_login_form", d.enableLoginForm},
		{"auth.jwt_expiry", "4w"},
	}
}

func (s *store) seedConfig(ctx context.Context, tx *sql.Tx, d seedDefaults, now int64) (int, error) {
	if !d.persistent {
		return 0, nil
	}
	n := 0
	for _, kv := range configDefaults(d) {
		v, err := json.Marshal(kv[1])
		if err != nil {
			return n, err
		}
		res, err := tx.ExecContext(ctx, s.dialect.bind(`INSERT INTO config ("key", value, updated_at) VALUES (?, ?j, ?)
			ON CONFLICT ("key") DO NOTHING`), kv[0], string(v), now)
		if err != nil {
			return n, err
		}
		if k, _ := res.RowsAffected(); k > 0 {
			n++
		}
	}
	return n, nil
}

// createAdmin inserts the admin when the user table is empty, like the
// app's create_admin_user. The password is stored hashed (a salted SHA-256,
// not the app's bcrypt: nobody logs in to the stand-in) and never printed.
func (s *store) createAdmin(ctx context.Context, tx *sql.Tx, a adminConfig, now int64) (bool, error) {
	var users int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM "user"`).Scan(&users); err != nil {
		return false, err
	}
	if users > 0 {
		return false, nil
	}
	id, err := newUUID()
	if err != nil {
		return false, err
	}
	email := strings.ToLower(a.email)
	if _, err := tx.ExecContext(ctx, s.dialect.bind(`INSERT INTO "user"
		(id, name, email, role, profile_image_url, last_active_at, updated_at, created_at)
		VALUES (?, ?, ?, 'admin', '/user.png', ?, ?, ?)`), id, a.name, email, now, now, now); err != nil {
		return false, err
	}
	hash, err := hashPassword(a.password)
	if err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, s.dialect.bind(`INSERT INTO auth (id, email, password, active) VALUES (?, ?, ?, ?)`),
		id, email, hash, true); err != nil {
		return false, err
	}
	// The app then turns sign-up off: there is an admin now.
	_, err = tx.ExecContext(ctx, s.dialect.bind(`INSERT INTO config ("key", value, updated_at) VALUES ('ui.enable_signup', ?j, ?)
		ON CONFLICT ("key") DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`), "false", now)
	return err == nil, err
}

func hashPassword(pw string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	sum := sha256.Sum256(append(append([]byte{}, salt...), pw...))
	return "standin-sha256$" + hex.EncodeToString(salt) + "$" + hex.EncodeToString(sum[:]), nil
}

// newUUID returns a random (version 4) UUID, the app's id format.
func newUUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}
