package replicate

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/quantabase/fleetctl/pkg/pg"
)

// Provision is what plan/apply creates in the target, as its owner, before
// the nodes run: the nodes' role and the schemas it owns.
type Provision struct {
	Role     string // fleetctl_sync_FLEET, NS_fleetctl_sync_FLEET
	Password string // derived from the fleet's seed; never printed
	// Marker tells this fleet's role and schemas from another's: a digest
	// keyed by the fleet's seed (never the seed), written as their comment
	// (MarkerComment). Lower-case hex, at least 16 digits.
	Marker     string
	MetaSchema string
	// Namespace sets the fleet's client schemas apart on a shared target
	// (NS_client_NAME); "" keeps client_NAME.
	Namespace string
	Clients   []string // client names: schemas client_NAME
}

var (
	roleName   = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)
	markerText = regexp.MustCompile(`^[0-9a-f]{16,64}$`)
)

// markerPrefix starts the comment Provision writes on its role and schemas.
const markerPrefix = "fleetctl sync: marker "

// AdoptComment is the comment an operator puts on a role or schema that
// Provision would otherwise refuse (see Apply) to say it is this fleet's:
// the next Apply takes it and writes the fleet's marker over it.
const AdoptComment = "fleetctl sync: adopt"

// MarkerComment is the comment of a role or schema marked with marker.
func MarkerComment(marker string) string { return markerPrefix + marker }

// markerOf is the marker of a comment ("" for none).
func markerOf(comment string) string {
	m, ok := strings.CutPrefix(comment, markerPrefix)
	if !ok {
		return ""
	}
	m, _, _ = strings.Cut(m, " ")
	return m
}

// Apply creates or updates the role — LOGIN, and nothing else: no
// superuser, no CREATEROLE, no CREATEDB, no replication, no inherited
// grants — and makes it the owner of the metadata schema and of each
// client's schema, which it creates when missing. The role gets no
// privilege on the database beyond what PUBLIC has (connect, temporary
// tables), so it cannot create schemas, read other schemas' tables, or drop
// anything it does not own. Idempotent: run by every apply.
//
// The role and every schema get the fleet's marker as their comment. Apply
// refuses, before it changes anything and naming what it refuses, a role or
// schema that may be another fleet's:
//
//   - a role that exists with another marker (a fleet of the same name, and
//     the same namespace or none, uses the target), or with no marker unless
//     it owns this fleet's metadata schema (a role an older fleetctl made for
//     this fleet: it created both at once), or with any other comment;
//   - a schema owned by anyone but this role or the connecting owner (another
//     fleet's role);
//   - a schema owned by the connecting owner that holds anything and has no
//     marker of this fleet: what a node run as the owner created, which may be
//     another fleet's whose nodes ran as the owner (its full passes and this
//     fleet's would delete each other's rows). An empty one is taken.
//
// A role or schema an operator commented AdoptComment is taken (the way out
// once the fleet's seed changed, which changes its marker, or for schemas a
// node of this fleet made as the owner). Tables, views and sequences not
// owned by a table in a taken schema go to the role; a table's own
// sequences follow it.
func (p Provision) Apply(ctx context.Context, ownerURL string) error {
	if !roleName.MatchString(p.Role) {
		return fmt.Errorf("sync role %q: not a plain identifier", p.Role)
	}
	if !markerText.MatchString(p.Marker) {
		return fmt.Errorf("sync role %s: no usable marker", p.Role)
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
		exists, err := p.checkRole(ctx, tx)
		if err != nil {
			return err
		}
		if err := p.checkOwners(ctx, tx, schemas); err != nil {
			return err
		}
		verb := "CREATE ROLE "
		if exists {
			verb = "ALTER ROLE "
		}
		if _, err := tx.Exec(ctx, verb+role+attrs); err != nil {
			return fmt.Errorf("role %s: %w", p.Role, err)
		}
		comment := " IS '" + MarkerComment(p.Marker) + "'"
		if _, err := tx.Exec(ctx, "COMMENT ON ROLE "+role+comment); err != nil {
			return fmt.Errorf("role %s: mark it: %w", p.Role, err)
		}
		// The owner must be able to hand schemas to the role.
		if _, err := tx.Exec(ctx, "GRANT "+role+" TO CURRENT_USER"); err != nil {
			return fmt.Errorf("grant %s to the owner: %w", p.Role, err)
		}
		for _, s := range schemas {
			if err := ensureSchema(ctx, tx, s); err != nil {
				return err
			}
			qs := pgx.Identifier{s}.Sanitize()
			if _, err := tx.Exec(ctx, "COMMENT ON SCHEMA "+qs+comment); err != nil {
				return fmt.Errorf("schema %s: mark it: %w", s, err)
			}
			if _, err := tx.Exec(ctx, "ALTER SCHEMA "+qs+" OWNER TO "+role); err != nil {
				return fmt.Errorf("schema %s: %w", s, err)
			}
			// Tables created earlier by the owner (a node run as the owner) go
			// to the role too. A sequence a table owns (serial, identity)
			// changes owner with its table only: PostgreSQL refuses it alone.
			if _, err := tx.Exec(ctx, `DO $$DECLARE r record; BEGIN
				FOR r IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
				  WHERE n.nspname = '`+s+`' AND c.relowner <> '`+p.Role+`'::regrole
				    AND (c.relkind IN ('r', 'p', 'v', 'm', 'f') OR (c.relkind = 'S' AND NOT EXISTS (
				      SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
				        AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')))) LOOP
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

// checkRole refuses a role of this name that may be another fleet's (see
// Apply) and reports whether it exists.
func (p Provision) checkRole(ctx context.Context, tx pgx.Tx) (bool, error) {
	var comment *string
	var ownsMeta bool
	err := tx.QueryRow(ctx, `SELECT shobj_description(r.oid, 'pg_authid'),
		  EXISTS (SELECT 1 FROM pg_namespace n WHERE n.nspname = $2 AND n.nspowner = r.oid)
		FROM pg_roles r WHERE r.rolname = $1`, p.Role, p.MetaSchema).Scan(&comment, &ownsMeta)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("role %s: %w", p.Role, err)
	}
	c := ""
	if comment != nil {
		c = *comment
	}
	switch m := markerOf(c); {
	case m == p.Marker, c == AdoptComment, c == "" && ownsMeta:
		return true, nil
	case m != "":
		return false, fmt.Errorf("role %s is the sync role of another fleet (its marker is not this fleet's): nothing was changed; "+
			"a fleet of the same name uses this PostgreSQL cluster: give this fleet its own sync.namespace in fleet.yaml "+
			"(its role becomes NAMESPACE_%s). If the role is this fleet's and its secretKeySeed changed, "+
			"let Apply take it: COMMENT ON ROLE %s IS '%s'", p.Role, p.Role, p.Role, AdoptComment)
	default:
		return false, fmt.Errorf("role %s exists and is not marked as this fleet's sync role (nor does it own schema %s): nothing was changed; "+
			"it may be another fleet's or someone else's: give this fleet its own sync.namespace in fleet.yaml, "+
			"or, if the role is this fleet's, let Apply take it: COMMENT ON ROLE %s IS '%s'",
			p.Role, p.MetaSchema, p.Role, AdoptComment)
	}
}

// checkOwners refuses existing schemas that may be another fleet's (see
// Apply). It runs in Apply's transaction, after checkRole.
func (p Provision) checkOwners(ctx context.Context, tx pgx.Tx, schemas []string) error {
	rows, err := tx.Query(ctx, `SELECT n.nspname, pg_get_userbyid(n.nspowner), n.nspowner = (SELECT oid FROM pg_roles WHERE rolname = current_user),
		  coalesce(obj_description(n.oid, 'pg_namespace'), ''),
		  EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = n.oid)
		FROM pg_namespace n
		WHERE n.nspname = ANY($1::text[]) AND pg_get_userbyid(n.nspowner) <> $2
		ORDER BY array_position($1::text[], n.nspname::text)`, schemas, p.Role)
	if err != nil {
		return fmt.Errorf("schema owners: %w", err)
	}
	defer rows.Close()
	var taken, unmarked []string
	for rows.Next() {
		var name, owner, comment string
		var byOwner, full bool
		if err := rows.Scan(&name, &owner, &byOwner, &comment, &full); err != nil {
			return fmt.Errorf("schema owners: %w", err)
		}
		switch {
		case byOwner && (!full || markerOf(comment) == p.Marker || comment == AdoptComment):
		case byOwner:
			unmarked = append(unmarked, name)
		default:
			who := "role " + owner
			if strings.Contains(owner, "fleetctl_sync_") {
				who += " (the sync role of another fleet)"
			}
			taken = append(taken, fmt.Sprintf("schema %s is owned by %s", name, who))
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("schema owners: %w", err)
	}
	if len(taken) > 0 {
		return fmt.Errorf("%s, not by %s: nothing was changed; another fleet already uses these schema names "+
			"in this target: give this fleet its own sync.namespace in fleet.yaml (its schemas become NAMESPACE_sync_metadata "+
			"and NAMESPACE_client_NAME)", strings.Join(taken, "; "), p.Role)
	}
	if len(unmarked) > 0 {
		stmts := make([]string, len(unmarked))
		for i, s := range unmarked {
			stmts[i] = "COMMENT ON SCHEMA " + s + " IS '" + AdoptComment + "';"
		}
		return fmt.Errorf("schema %s: owned by the connecting owner, not empty, and not marked as this fleet's: nothing was changed; "+
			"a node run as the owner created it, perhaps one of another fleet that shares these schema names: "+
			"give this fleet its own sync.namespace in fleet.yaml, or, if the schemas are this fleet's, let Apply take them: %s",
			strings.Join(unmarked, ", "), strings.Join(stmts, " "))
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
