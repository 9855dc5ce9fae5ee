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
	// Namespace sets the fleet's client schemas apart on a shared target
	// (NS_client_NAME); "" keeps client_NAME.
	Namespace string
	Clients   []string // client names: schemas client_NAME
}

var roleName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Apply creates or updates the role — LOGIN, and nothing else: no
// superuser, no CREATEROLE, no CREATEDB, no replication, no inherited
// grants — and makes it the owner of the metadata schema and of each
// client's schema, which it creates when missing. The role gets no
// privilege on the database beyond what PUBLIC has (connect, temporary
// tables), so it cannot create schemas, read other schemas' tables, or drop
// anything it does not own. Idempotent: run by every apply.
//
// A schema that exists and is owned by anyone but this role or the
// connecting owner (who owns what a node run as the owner created) belongs
// to someone else — another fleet's role, on a target several fleets share:
// Apply refuses before it changes anything, naming the schema and its
// owner, and hands nothing over.
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
		// One lock for every fleet's provisioning: two fleets provisioning one
		// target at once see each other's schemas, not a duplicate-key error.
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('fleetctl-sync-provision'))"); err != nil {
			return err
		}
		// The certification canary's schema too (canary.go).
		schemas := append([]string{p.MetaSchema, CanarySchema(p.MetaSchema)}, mapClients(p.Namespace, p.Clients)...)
		for _, s := range schemas {
			if !roleName.MatchString(s) {
				return fmt.Errorf("schema %q: not a plain identifier of at most 63 bytes", s)
			}
		}
		if err := p.checkOwners(ctx, tx, schemas); err != nil {
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
		for _, s := range schemas {
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

// checkOwners refuses schemas that exist and belong to a role other than
// p.Role and the connecting owner. It runs first in Apply's transaction.
func (p Provision) checkOwners(ctx context.Context, tx pgx.Tx, schemas []string) error {
	rows, err := tx.Query(ctx, `SELECT nspname, pg_get_userbyid(nspowner) FROM pg_namespace
		WHERE nspname = ANY($1::text[]) AND pg_get_userbyid(nspowner) NOT IN ($2, current_user)
		ORDER BY array_position($1::text[], nspname::text)`, schemas, p.Role)
	if err != nil {
		return fmt.Errorf("schema owners: %w", err)
	}
	defer rows.Close()
	var taken []string
	for rows.Next() {
		var name, owner string
		if err := rows.Scan(&name, &owner); err != nil {
			return fmt.Errorf("schema owners: %w", err)
		}
		who := "role " + owner
		if strings.HasPrefix(owner, "fleetctl_sync_") {
			who += " (the sync role of another fleet)"
		}
		taken = append(taken, fmt.Sprintf("schema %s is owned by %s", name, who))
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("schema owners: %w", err)
	}
	if len(taken) > 0 {
		return fmt.Errorf("%s, not by %s: nothing was changed; another fleet already uses these schema names "+
			"in this target: give this fleet its own sync.namespace in fleet.yaml (its schemas become NAMESPACE_sync_metadata "+
			"and NAMESPACE_client_NAME)", strings.Join(taken, "; "), p.Role)
	}
	return nil
}

func mapClients(ns string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = NamespacedClientSchema(ns, n)
	}
	return out
}
