package replicate

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/quantabase/fleetctl/pkg/pg"
)

// Provision is what plan/apply creates in the target, as its owner, before
// the nodes run: the nodes' role and the schemas it owns.
type Provision struct {
	Role       string // fleetctl_sync_FLEET
	Password   string // derived from the fleet's seed; never printed
	MetaSchema string
	Clients    []string // client names: schemas client_NAME
}

var roleName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Apply creates or updates the role — LOGIN, and nothing else: no
// superuser, no CREATEROLE, no CREATEDB, no replication, no inherited
// grants — and makes it the owner of the metadata schema and of each
// client's schema, which it creates when missing. The role gets no
// privilege on the database beyond what PUBLIC has (connect, temporary
// tables), so it cannot create schemas, read other schemas' tables, or drop
// anything it does not own. Idempotent: run by every apply.
func (p Provision) Apply(ctx context.Context, ownerURL string) error {
	if !roleName.MatchString(p.Role) {
		return fmt.Errorf("sync role %q: not a plain identifier", p.Role)
	}
	if p.Password == "" || strings.ContainsAny(p.Password, "'\\\x00") {
		return fmt.Errorf("sync role %s: unusable password", p.Role)
	}
	m := pg.Masker(ctx, ownerURL).With(p.Password)
	conn, err := pg.Connect(ctx, ownerURL, pg.Options{SimpleProtocol: true, AppName: "fleetctl-sync-provision"})
	if err != nil {
		return m.Error(err)
	}
	defer conn.Close(context.Background())
	role := pgx.Identifier{p.Role}.Sanitize()
	attrs := " LOGIN PASSWORD '" + p.Password + "' NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS"
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('fleetctl-sync-provision:' || $1))", p.Role); err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, p.Role).Scan(&exists); err != nil {
			return err
		}
		verb := "CREATE ROLE "
		if exists {
			verb = "ALTER ROLE "
		}
		if _, err := tx.Exec(ctx, verb+role+attrs); err != nil {
			return fmt.Errorf("role %s: %w", p.Role, err)
		}
		// The owner must be able to hand schemas to the role.
		if _, err := tx.Exec(ctx, "GRANT "+role+" TO CURRENT_USER"); err != nil {
			return fmt.Errorf("grant %s to the owner: %w", p.Role, err)
		}
		schemas := append([]string{p.MetaSchema}, mapClients(p.Clients)...)
		for _, s := range schemas {
			if !roleName.MatchString(s) {
				return fmt.Errorf("schema %q: not a plain identifier", s)
			}
			if err := ensureSchema(ctx, tx, s); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "ALTER SCHEMA "+pgx.Identifier{s}.Sanitize()+" OWNER TO "+role); err != nil {
				return fmt.Errorf("schema %s: %w", s, err)
			}
			// Tables created earlier by the owner (a node run as the owner) go to the role too.
			if _, err := tx.Exec(ctx, `DO $$DECLARE r record; BEGIN
				FOR r IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
				  WHERE n.nspname = '`+s+`' AND c.relkind IN ('r', 'v', 'S') LOOP
				  EXECUTE format('ALTER TABLE %I.%I OWNER TO %I', '`+s+`', r.relname, '`+p.Role+`');
				END LOOP; END$$`); err != nil {
				return fmt.Errorf("schema %s: hand its tables to %s: %w", s, p.Role, err)
			}
		}
		return nil
	})
	if err != nil {
		return m.Error(fmt.Errorf("provision sync role: %w", err))
	}
	return nil
}

func mapClients(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = ClientSchema(n)
	}
	return out
}
