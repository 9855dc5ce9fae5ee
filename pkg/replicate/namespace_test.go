package replicate

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"
)

// fleetOnTarget provisions one fleet's role and schemas on tg and returns a
// node of that fleet connected as its role.
type fleetOnTarget struct {
	prov Provision
	node *Node
	app  *appDB
}

func provisionFleet(t *testing.T, tg target, fleet, ns, pw string) (Provision, error) {
	t.Helper()
	p := fleetProvision(fleet, ns, pw)
	return p, p.Apply(ctxT(t), tg.url)
}

// fleetProvision is the Provision of a fleet named fleet: its role is named
// as pkg/fleet names it, and its marker derives from fleet, ns and pw (a
// fleet's seed is behind both the password and the marker).
func fleetProvision(fleet, ns, pw string) Provision {
	role := "fleetctl_sync_" + fleet
	if ns != "" {
		role = ns + "_" + role
	}
	return Provision{Role: role, Password: pw, Marker: testMarker(fleet + "/" + ns + "/" + pw), Namespace: ns,
		MetaSchema: NamespacedMetaSchema(ns), Clients: []string{"acme-corp"}}
}

func testMarker(seed string) string {
	h := sha256.Sum256([]byte("marker:" + seed))
	return hex.EncodeToString(h[:16])
}

func startFleet(t *testing.T, tg target, p Provision, node string) fleetOnTarget {
	t.Helper()
	u, _ := url.Parse(tg.url)
	u.User = url.UserPassword(p.Role, p.Password)
	app := newApp(t)
	n := newNode(t, target{tg.db, u.String()}, node, []Client{{Name: "acme-corp", SQLitePath: app.path}},
		func(c *Config) { c.Namespace = p.Namespace })
	return fleetOnTarget{p, n, app}
}

// Two fleets with their own namespaces share one target: each replicates a
// client of the same name into its own schemas, and neither role can read,
// write or drop the other's.
func TestSharedTargetNamespaces(t *testing.T) {
	tg := targets(t)["direct"](t)
	ctx := ctxT(t)
	var fleets []fleetOnTarget
	for _, f := range []struct{ name, ns string }{{"blue", "blue"}, {"green", "green"}} {
		p, err := provisionFleet(t, tg, f.name, f.ns, "pw-"+f.name+"-Distinct-7")
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		fl := startFleet(t, tg, p, "node-"+f.name)
		fl.app.chat(t, "c1", "row of "+f.name, 1)
		if err := pass(t, fl.node, true); err != nil {
			t.Fatalf("%s cannot replicate: %v", f.name, err)
		}
		fleets = append(fleets, fl)
	}
	for _, f := range []string{"blue", "green"} {
		if got := tg.query(t, `SELECT title FROM `+f+`_client_acme_corp.chat`); got != "row of "+f {
			t.Errorf("%s replicated %q", f, got)
		}
		if n := tg.count(t, `SELECT count(*) FROM `+f+`_sync_metadata.jobs WHERE status = 'ok'`); n != 1 {
			t.Errorf("%s: %d ok jobs", f, n)
		}
	}
	if got := tg.query(t, `SELECT string_agg(nspname || '=' || pg_get_userbyid(nspowner), ',' ORDER BY nspname) FROM pg_namespace
		WHERE nspname LIKE '%client_acme_corp' OR nspname LIKE '%sync_metadata'`); got !=
		"blue_client_acme_corp=blue_fleetctl_sync_blue,blue_sync_metadata=blue_fleetctl_sync_blue,green_client_acme_corp=green_fleetctl_sync_green,green_sync_metadata=green_fleetctl_sync_green" {
		t.Errorf("schemas and owners: %s", got)
	}
	// Each fleet sees nothing of the other's: not its rows, not its metadata.
	for i, fl := range fleets {
		other := []string{"green", "blue"}[i]
		for _, q := range []string{
			`SELECT * FROM ` + other + `_client_acme_corp.chat`,
			`SELECT * FROM ` + other + `_sync_metadata.jobs`,
			`INSERT INTO ` + other + `_client_acme_corp.chat (id, user_id) VALUES ('x', 'u')`,
			`UPDATE ` + other + `_sync_metadata.lease SET holder = 'intruder'`,
			`DROP SCHEMA ` + other + `_client_acme_corp CASCADE`,
		} {
			_, err := fl.node.db.Exec(ctx, q)
			if err == nil {
				t.Errorf("fleet %s may: %s", fl.prov.Role, q)
			} else if !strings.Contains(err.Error(), "permission denied") && !strings.Contains(err.Error(), "must be owner") {
				t.Errorf("%s: %v", q, err)
			}
		}
	}
	// Provisioning again (every apply does) changes nothing of the other's.
	if _, err := provisionFleet(t, tg, "blue", "blue", "pw-blue-Distinct-7"); err != nil {
		t.Fatal(err)
	}
	if got := tg.query(t, `SELECT title FROM green_client_acme_corp.chat`); got != "row of green" {
		t.Errorf("green after blue's second provision: %q", got)
	}
}

// Two fleets without namespaces on one target: the second's provisioning
// is refused, naming the schemas and their owner, and changes nothing — the
// first fleet's schemas keep their owner and rows, and the second's role
// is not even created.
func TestProvisionRefusesAnotherFleetsSchemas(t *testing.T) {
	tg := targets(t)["direct"](t)
	p, err := provisionFleet(t, tg, "first", "", "pw-first-Distinct-7")
	if err != nil {
		t.Fatal(err)
	}
	first := startFleet(t, tg, p, "node-first")
	first.app.chat(t, "c1", "first's row", 1)
	if err := pass(t, first.node, true); err != nil {
		t.Fatal(err)
	}
	owners := `SELECT string_agg(nspname || '=' || pg_get_userbyid(nspowner), ',' ORDER BY nspname) FROM pg_namespace
		WHERE nspname IN ('sync_metadata', 'client_acme_corp')`
	const want = "client_acme_corp=fleetctl_sync_first,sync_metadata=fleetctl_sync_first"
	if got := tg.query(t, owners); got != want {
		t.Fatalf("owners %s", got)
	}
	const secondPw = "pw-second-Distinct-9"
	_, err = provisionFleet(t, tg, "second", "", secondPw)
	if err == nil {
		t.Fatal("a second fleet took over the first fleet's schemas")
	}
	msg := err.Error()
	for _, s := range []string{"schema sync_metadata is owned by role fleetctl_sync_first", "schema client_acme_corp is owned by role fleetctl_sync_first",
		"not by fleetctl_sync_second", "sync.namespace", "nothing was changed"} {
		if !strings.Contains(msg, s) {
			t.Errorf("error lacks %q: %s", s, msg)
		}
	}
	if strings.Contains(msg, secondPw) || strings.Contains(msg, "pgtest-secret") {
		t.Errorf("error shows a secret: %s", msg)
	}
	if got := tg.query(t, owners); got != want {
		t.Errorf("owners after the refused provisioning: %s", got)
	}
	if n := tg.count(t, `SELECT count(*) FROM pg_roles WHERE rolname = 'fleetctl_sync_second'`); n != 0 {
		t.Error("the refused provisioning created its role")
	}
	if got := tg.query(t, `SELECT title FROM client_acme_corp.chat`); got != "first's row" {
		t.Errorf("first's rows: %q", got)
	}
	// The first fleet still replicates.
	first.app.chat(t, "c2", "later", 2)
	if err := pass(t, first.node, false); err != nil {
		t.Fatal(err)
	}
	if n := tg.count(t, `SELECT count(*) FROM client_acme_corp.chat`); n != 2 {
		t.Errorf("%d rows after the refused provisioning", n)
	}
	// Given its own namespace, the second fleet provisions beside the first.
	if _, err := provisionFleet(t, tg, "second", "second", secondPw); err != nil {
		t.Fatalf("with a namespace: %v", err)
	}
}
