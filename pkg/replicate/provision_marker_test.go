package replicate

import (
	"strings"
	"testing"
)

// Two fleets named alike share a target. With different namespaces their
// roles differ and neither touches the other's password. Without one (or
// with the same), the role is the same: the second fleet's provisioning is
// refused by the first's marker, naming the role, and the first fleet's
// nodes keep their password.
func TestProvisionSameNameFleets(t *testing.T) {
	tg := targets(t)["direct"](t)
	const pwA, pwB = "pw-prodA-Distinct-3", "pw-prodB-Distinct-4"
	a, err := provisionFleet(t, tg, "prod", "", pwA)
	if err != nil {
		t.Fatal(err)
	}
	first := startFleet(t, tg, a, "node-prod-a")
	first.app.chat(t, "c1", "a's row", 1)
	if err := pass(t, first.node, true); err != nil {
		t.Fatal(err)
	}
	b, err := provisionFleet(t, tg, "prod", "teamb", pwB)
	if err != nil {
		t.Fatalf("same name, own namespace: %v", err)
	}
	if b.Role != "teamb_fleetctl_sync_prod" {
		t.Fatalf("role %s", b.Role)
	}
	second := startFleet(t, tg, b, "node-prod-b")
	second.app.chat(t, "c1", "b's row", 1)
	if err := pass(t, second.node, true); err != nil {
		t.Fatal(err)
	}
	// Same name, no namespace, another seed: refused.
	c := fleetProvision("prod", "", "pw-prodC-Distinct-5")
	err = c.Apply(ctxT(t), tg.url)
	if err == nil {
		t.Fatal("a fleet of the same name took over the first fleet's role")
	}
	for _, s := range []string{"role fleetctl_sync_prod is the sync role of another fleet", "nothing was changed", "sync.namespace", AdoptComment} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error lacks %q: %s", s, err)
		}
	}
	if strings.Contains(err.Error(), c.Password) || strings.Contains(err.Error(), c.Marker) || strings.Contains(err.Error(), a.Marker) {
		t.Errorf("error shows a secret or a marker: %s", err)
	}
	// Both fleets still replicate with their passwords (a fresh connection each).
	for _, fl := range []fleetOnTarget{first, second} {
		fl.node.db.Reset()
		fl.app.chat(t, "c2", "later", 2)
		if err := pass(t, fl.node, false); err != nil {
			t.Errorf("%s after the refused provisioning: %v", fl.prov.Role, err)
		}
	}
	if got := tg.query(t, `SELECT count(*) FROM client_acme_corp.chat`) + tg.query(t, `SELECT count(*) FROM teamb_client_acme_corp.chat`); got != "22" {
		t.Errorf("rows %s", got)
	}
	if got := tg.query(t, `SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = 'fleetctl_sync_prod'`); got != MarkerComment(a.Marker) {
		t.Errorf("role comment %q", got)
	}
}

// A role an older fleetctl made (no marker) is this fleet's when it owns
// the fleet's metadata schema: provisioning marks it. A role without a
// marker that owns nothing here, or with a comment of its own, is refused
// until an operator comments it AdoptComment.
func TestProvisionUnmarkedRole(t *testing.T) {
	tg := targets(t)["direct"](t)
	p, err := provisionFleet(t, tg, "legacy", "", "pw-legacy-Distinct-6")
	if err != nil {
		t.Fatal(err)
	}
	tg.query(t, `COMMENT ON ROLE fleetctl_sync_legacy IS NULL`)
	if err := p.Apply(ctxT(t), tg.url); err != nil {
		t.Fatalf("the role owning this fleet's metadata schema: %v", err)
	}
	if got := tg.query(t, `SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = 'fleetctl_sync_legacy'`); got != MarkerComment(p.Marker) {
		t.Errorf("role comment %q", got)
	}

	tg.query(t, `CREATE ROLE fleetctl_sync_stranger LOGIN`)
	s := fleetProvision("stranger", "", "pw-stranger-Distinct-8")
	err = s.Apply(ctxT(t), tg.url)
	if err == nil || !strings.Contains(err.Error(), "role fleetctl_sync_stranger exists and is not marked as this fleet's") {
		t.Fatalf("an unmarked role owning nothing here: %v", err)
	}
	if n := tg.count(t, `SELECT count(*) FROM pg_namespace WHERE nspname = 'client_acme_corp' AND nspowner = 'fleetctl_sync_stranger'::regrole`); n != 0 {
		t.Error("the refused provisioning handed a schema over")
	}
	tg.query(t, `COMMENT ON ROLE fleetctl_sync_stranger IS '`+AdoptComment+`'`)
	// sync_metadata and client_acme_corp are legacy's: adopt the role under its own namespace.
	s = fleetProvision("stranger", "", "pw-stranger-Distinct-8")
	s.MetaSchema, s.Namespace = NamespacedMetaSchema("str"), "str"
	if err := s.Apply(ctxT(t), tg.url); err != nil {
		t.Fatalf("adopted: %v", err)
	}
}

// A node run as the owner creates its schemas, tables and sequences as the
// owner. Provisioning refuses such schemas (they may be another fleet's
// whose nodes ran as the owner) until they are marked this fleet's, then
// hands everything over — sequences a table owns with their table — and
// the fleet's role replicates. An empty schema of the owner is taken.
func TestProvisionAfterNodeRanAsOwner(t *testing.T) {
	tg := targets(t)["direct"](t)
	app := newApp(t)
	app.chat(t, "c1", "owner's row", 1)
	owner := newNode(t, tg, "node-owner", []Client{{Name: "acme-corp", SQLitePath: app.path}})
	if err := pass(t, owner, true); err != nil {
		t.Fatal(err)
	}
	owner.Close()
	tg.query(t, `CREATE SCHEMA client_empty`)
	p := fleetProvision("asowner", "", "pw-asowner-Distinct-1")
	p.Clients = append(p.Clients, "empty")
	err := p.Apply(ctxT(t), tg.url)
	if err == nil {
		t.Fatal("schemas a node made as the owner, without a marker, were taken")
	}
	for _, s := range []string{"schema sync_metadata, client_acme_corp: owned by the connecting owner", "nothing was changed",
		"COMMENT ON SCHEMA sync_metadata IS '" + AdoptComment + "';"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error lacks %q: %s", s, err)
		}
	}
	if strings.Contains(err.Error(), "client_empty") {
		t.Errorf("the empty schema is refused: %s", err)
	}
	if n := tg.count(t, `SELECT count(*) FROM pg_roles WHERE rolname = 'fleetctl_sync_asowner'`); n != 0 {
		t.Error("the refused provisioning created its role")
	}
	tg.query(t, `COMMENT ON SCHEMA sync_metadata IS '`+AdoptComment+`'; COMMENT ON SCHEMA client_acme_corp IS '`+AdoptComment+`'`)
	if err := p.Apply(ctxT(t), tg.url); err != nil {
		t.Fatalf("marked schemas: %v", err)
	}
	checkHandedOver(t, tg, p)

	// A node run as the owner on provisioned schemas (a client added since)
	// creates owner tables with serial sequences: the next provisioning
	// hands them over too.
	tg.query(t, `CREATE TABLE client_empty.t (id bigserial PRIMARY KEY, v int GENERATED ALWAYS AS IDENTITY); CREATE SEQUENCE client_empty.free_seq`)
	if err := p.Apply(ctxT(t), tg.url); err != nil {
		t.Fatalf("after owner tables in provisioned schemas: %v", err)
	}
	checkHandedOver(t, tg, p)

	fl := startFleet(t, tg, p, "node-role")
	fl.app.chat(t, "c2", "role's row", 2)
	if err := pass(t, fl.node, true); err != nil {
		t.Fatalf("the role cannot replicate into the handed-over schemas: %v", err)
	}
	if n := tg.count(t, `SELECT count(*) FROM sync_metadata.jobs WHERE status = 'ok'`); n != 2 {
		t.Errorf("%d ok jobs", n)
	}
}

func checkHandedOver(t *testing.T, tg target, p Provision) {
	t.Helper()
	q := `SELECT coalesce(string_agg(n.nspname || '.' || c.relname || '=' || pg_get_userbyid(c.relowner), ',' ORDER BY 1), '')
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname IN ('sync_metadata', 'client_acme_corp', 'client_empty') AND c.relowner <> '` + p.Role + `'::regrole`
	if got := tg.query(t, q); got != "" {
		t.Errorf("not handed over: %s", got)
	}
	q = `SELECT string_agg(nspname || '=' || pg_get_userbyid(nspowner) || ':' || (obj_description(oid, 'pg_namespace') = '` + MarkerComment(p.Marker) + `'), ',' ORDER BY nspname)
		FROM pg_namespace WHERE nspname IN ('sync_metadata', 'client_acme_corp', 'client_empty')`
	want := "client_acme_corp=" + p.Role + ":true,client_empty=" + p.Role + ":true,sync_metadata=" + p.Role + ":true"
	if got := tg.query(t, q); got != want {
		t.Errorf("schemas %s, want %s", got, want)
	}
}
