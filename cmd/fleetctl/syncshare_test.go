package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// Two fleets share one sync target. The second, without a namespace, is
// refused (its schema names are the first's) with nothing changed; with
// its own namespace it deploys beside the first, both replicate a client
// of the same name, and each fleet's sync status reads its own schemas.
// Deleting sync: from a fleet removes its node containers and leaves its
// schemas and rows in the target.
func TestSyncFleetsShareTarget(t *testing.T) {
	srv, db := startPG(t)
	t.Setenv("IT_SYNC_URL", srv.BridgeURL(db))
	ports := freePorts(t, 2)
	type fl struct {
		f    *testFleet
		cs   []clientDef
		node string
	}
	var fleets []fl
	for i := range 2 {
		f := newTestFleet(t, 1)
		cs := f.clients()
		f.write(cs, "")
		node := f.name + "-sync"
		appendFile(t, f.file, fmt.Sprintf("sync:\n  target:\n    url: ${env:IT_SYNC_URL}\n"+
			"  interval: 200ms\n  fullInterval: 2s\n  lease: 3s\n  renew: 500ms\n"+
			"  nodes:\n    - {name: %s, port: %d}\n", node, ports[i]))
		fleets = append(fleets, fl{f, cs, node})
		t.Cleanup(func() {
			if t.Failed() {
				logs(t, []string{node})
			}
		})
	}
	a, b := fleets[0], fleets[1]
	a.f.mustApply()
	roleA := "fleetctl_sync_" + strings.ReplaceAll(a.f.name, "-", "_")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	waitRows := func(q string, want string) {
		t.Helper()
		var got string
		for ctx.Err() == nil {
			if got, _ = srv.Psql(ctx, db, q); got == want {
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatalf("%s: %q, want %q", q, got, want)
	}
	postJSON(t, a.cs[0].port, "/_standin/chats", chat{ID: "chat-a", UserID: "u1", Title: "fleet a", Chat: json.RawMessage(`{"messages":[]}`)})
	waitRows(`SELECT string_agg(title, ',') FROM client_c0.chat`, "fleet a")

	// b without a namespace: refused, and a's schemas keep their owner.
	r := b.f.run("apply", "--auto-approve")
	if r.code == 0 || !strings.Contains(r.all(), "schema client_c0 is owned by role "+roleA) || !strings.Contains(r.all(), "sync.namespace") {
		t.Fatalf("apply of a second fleet without a namespace (exit %d):\n%s", r.code, r.all())
	}
	if out, _ := srv.Psql(ctx, db, `SELECT string_agg(DISTINCT pg_get_userbyid(nspowner), ',') FROM pg_namespace WHERE nspname IN ('client_c0', 'sync_metadata')`); out != roleA {
		t.Fatalf("owners after the refused apply: %q", out)
	}
	if out := dockerCLI(t, "ps", "-aq", "--filter", "name=^"+b.node+"$"); out != "" {
		t.Fatalf("the refused fleet's node was created")
	}

	// With its own namespace b deploys beside a.
	ns := "ns" + strings.ReplaceAll(b.f.name, "-", "")
	appendFile(t, b.f.file, "  namespace: "+ns+"\n")
	b.f.mustApply()
	postJSON(t, b.cs[0].port, "/_standin/chats", chat{ID: "chat-b", UserID: "u1", Title: "fleet b", Chat: json.RawMessage(`{"messages":[]}`)})
	waitRows(`SELECT string_agg(title, ',') FROM `+ns+`_client_c0.chat`, "fleet b")
	postJSON(t, a.cs[0].port, "/_standin/chats", chat{ID: "chat-a2", UserID: "u1", Title: "fleet a again", Chat: json.RawMessage(`{"messages":[]}`)})
	waitRows(`SELECT string_agg(title, ',' ORDER BY id) FROM client_c0.chat`, "fleet a,fleet a again")
	for _, x := range fleets {
		var st struct {
			Nodes []struct {
				ID string `json:"id"`
			} `json:"nodes"`
		}
		r := x.f.run("sync", "status", "--json")
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &st) != nil || len(st.Nodes) != 1 || st.Nodes[0].ID != x.node {
			t.Errorf("%s sync status (exit %d): %s", x.f.name, r.code, r.all())
		}
	}

	// sync: deleted from b: plan and apply remove its node, nothing else.
	data, err := os.ReadFile(b.f.file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b.f.file, []byte(string(data[:strings.Index(string(data), "sync:\n")])), 0o644); err != nil {
		t.Fatal(err)
	}
	p := b.f.run("plan")
	if !strings.Contains(p.stdout, "- container "+b.node+": remove container (a sync node: the sync target's role, schemas and data are kept)") ||
		!strings.Contains(p.stdout, "# sync: removed from fleet.yaml") || !strings.Contains(p.stdout, "0 to add, 0 to change, 1 to destroy") {
		t.Fatalf("plan after deleting sync: (exit %d):\n%s", p.code, p.all())
	}
	b.f.mustApply()
	if out := dockerCLI(t, "ps", "-aq", "--filter", "name=^"+b.node+"$"); out != "" {
		t.Errorf("the node is still there after apply")
	}
	if out, _ := srv.Psql(ctx, db, `SELECT string_agg(title, ',') FROM `+ns+`_client_c0.chat`); out != "fleet b" {
		t.Errorf("b's rows after its sync was deleted: %q", out)
	}
	if r := b.f.run("plan", "--detailed-exitcode"); r.code != 0 {
		t.Errorf("plan after the removal (exit %d):\n%s", r.code, r.all())
	}
}
