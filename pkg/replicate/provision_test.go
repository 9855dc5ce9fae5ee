package replicate

import (
	"net/url"
	"strings"
	"testing"
)

// The nodes' role owns only its schemas: it replicates, and cannot create
// roles or schemas, read another schema's tables, or drop what it does not own.
func TestProvisionLeastPrivilege(t *testing.T) {
	tg := targets(t)["direct"](t)
	ctx := ctxT(t)
	tg.query(t, `CREATE TABLE public.secrets (v text); INSERT INTO public.secrets VALUES ('x');
		CREATE SCHEMA client_other_fleet; CREATE TABLE client_other_fleet.chat (id text)`)
	const pw = "role-Pw-Distinct-42"
	p := fleetProvision("t", "", pw)
	for i := 0; i < 2; i++ { // idempotent
		if err := p.Apply(ctx, tg.url); err != nil {
			t.Fatal(err)
		}
	}
	u, _ := url.Parse(tg.url)
	u.User = url.UserPassword(p.Role, pw)
	app := newApp(t)
	app.chat(t, "c1", "hello", 1)
	n := newNode(t, target{tg.db, u.String()}, "node-a", []Client{{Name: "acme-corp", SQLitePath: app.path}})
	if err := pass(t, n, true); err != nil {
		t.Fatalf("the role cannot replicate: %v", err)
	}
	if got := tg.query(t, `SELECT title FROM client_acme_corp.chat`); got != "hello" {
		t.Errorf("replicated %q", got)
	}
	if got := tg.query(t, `SELECT string_agg(nspname || '=' || pg_get_userbyid(nspowner), ',' ORDER BY nspname) FROM pg_namespace WHERE nspname IN ('sync_metadata', 'client_acme_corp')`); got != "client_acme_corp=fleetctl_sync_t,sync_metadata=fleetctl_sync_t" {
		t.Errorf("owners %s", got)
	}
	for _, q := range []string{
		`CREATE ROLE intruder`,
		`CREATE SCHEMA client_new`,
		`SELECT * FROM public.secrets`,
		`SELECT * FROM client_other_fleet.chat`,
		`DROP SCHEMA client_other_fleet CASCADE`,
		`DROP TABLE public.secrets`,
		`CREATE TABLE public.mine (v text)`,
		`ALTER ROLE fleetctl_sync_t SUPERUSER`,
	} {
		_, err := n.db.Exec(ctx, q)
		if err == nil {
			t.Errorf("the role may: %s", q)
		} else if !strings.Contains(err.Error(), "permission denied") && !strings.Contains(err.Error(), "must be") {
			t.Errorf("%s: %v", q, err)
		}
	}
	if err := (Provision{Role: "bad-name", Password: "x", Marker: testMarker("x"), MetaSchema: "m"}).Apply(ctx, tg.url); err == nil {
		t.Error("a role name that is not an identifier was accepted")
	}
}

func TestReadStatus(t *testing.T) {
	tg := targets(t)["pgbouncer"](t)
	app := newApp(t)
	n := newNode(t, tg, "node-a", []Client{{Name: "acme", SQLitePath: app.path}})
	app.chat(t, "c1", "x", 1)
	if err := pass(t, n, false); err != nil {
		t.Fatal(err)
	}
	st, err := ReadStatus(ctxT(t), tg.url, DefaultMetaSchema, []string{"acme", "later"})
	if err != nil {
		t.Fatal(err)
	}
	if st.Leader != "node-a" || st.Term != 1 || len(st.Nodes) != 1 || !st.Nodes[0].Leader || len(st.Clients) != 2 {
		t.Fatalf("status %+v", st)
	}
	if c := st.Clients[0]; c.Name != "acme" || c.LastSync == nil || c.LagSeconds == nil || c.LastJob != "ok" || c.OpenConflicts != 0 {
		t.Errorf("acme %+v", c)
	}
	if c := st.Clients[1]; c.Name != "later" || c.LastSync != nil {
		t.Errorf("later %+v", c)
	}
}
