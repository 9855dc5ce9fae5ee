package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// apply deploys the sync nodes of a sync: section: the role and schemas in a
// real PostgreSQL, then two node containers of fleetctl's own image; one
// leads, rows written into the stand-in arrive in client_<name>, and a second
// plan has no changes.
func TestApplyDeploysSyncNodes(t *testing.T) {
	srv, db := startPG(t)
	f := newTestFleet(t, 1)
	nodePorts := freePorts(t, 2)
	const token = "sync-ADMIN-token-4b1d9e"
	t.Setenv("IT_SYNC_URL", srv.BridgeURL(db))
	t.Setenv("IT_SYNC_TOKEN", token)
	cs := f.clients()
	f.write(cs, "")
	nodes := []string{f.name + "-sync-a", f.name + "-sync-b"}
	sync := fmt.Sprintf("sync:\n  target:\n    url: ${env:IT_SYNC_URL}\n  adminToken: ${env:IT_SYNC_TOKEN}\n"+
		"  interval: 200ms\n  fullInterval: 2s\n  lease: 3s\n  renew: 500ms\n  cacheTTL: 3s\n"+
		"  nodes:\n    - {name: %s, port: %d}\n    - {name: %s, port: %d}\n", nodes[0], nodePorts[0], nodes[1], nodePorts[1])
	appendFile(t, f.file, sync)
	secretFree := func(what, out string) {
		t.Helper()
		for _, s := range []string{token, srv.BridgeURL(db), "PASSWORD '"} {
			if strings.Contains(out, s) {
				t.Fatalf("%s printed a secret:\n%s", what, out)
			}
		}
	}

	p := f.run("plan")
	secretFree("plan", p.all())
	if !strings.Contains(p.stdout, "sync role fleetctl_sync_") || !strings.Contains(p.stdout, "+ container "+nodes[0]) {
		t.Fatalf("plan does not deploy the sync nodes (exit %d):\n%s", p.code, p.all())
	}
	secretFree("apply", f.mustApply().all())
	t.Cleanup(func() {
		if t.Failed() {
			logs(t, nodes)
		}
	})

	// One leads, the other follows.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var st struct {
		Leader string `json:"leader"`
		Term   int64  `json:"term"`
		Nodes  []struct {
			ID string `json:"id"`
		} `json:"nodes"`
		Target struct {
			IPv4          []string `json:"ipv4"`
			IPv4Reachable bool     `json:"ipv4Reachable"`
		} `json:"target"`
	}
	for ctx.Err() == nil {
		r := f.run("sync", "status", "--json")
		secretFree("sync status", r.all())
		if r.code == 0 && json.Unmarshal([]byte(r.stdout), &st) == nil && st.Leader != "" && len(st.Nodes) == 2 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if st.Leader != nodes[0] && st.Leader != nodes[1] {
		t.Fatalf("no node leads: %+v", st)
	}
	// The preflight: the target's host over IPv4.
	if !st.Target.IPv4Reachable || len(st.Target.IPv4) != 1 {
		t.Errorf("sync status target preflight: %+v", st.Target)
	}
	if r := f.run("sync", "status"); r.code != 0 || !strings.Contains(r.stdout, "(reachable)") {
		t.Errorf("sync status (exit %d):\n%s", r.code, r.all())
	}

	// Rows written into the stand-in arrive in client_c0.
	postJSON(t, cs[0].port, "/_standin/chats", chat{ID: "chat-sync-1", UserID: "u1", Title: "replicated", Chat: json.RawMessage(`{"messages":[]}`)})
	var got string
	for ctx.Err() == nil {
		got, _ = srv.Psql(ctx, db, `SELECT count(*) FROM client_c0.chat WHERE id = 'chat-sync-1'`)
		if n, _ := strconv.Atoi(got); n == 1 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got != "1" {
		t.Fatalf("chat-sync-1 not in client_c0.chat (%q)", got)
	}
	// The nodes connect as the restricted role, not as the owner.
	if who, err := srv.Psql(ctx, db, `SELECT string_agg(DISTINCT usename, ',') FROM pg_stat_activity WHERE application_name IN ('fleetctl-sync-`+nodes[0]+`', 'fleetctl-sync-`+nodes[1]+`')`); err != nil || !strings.HasPrefix(who, "fleetctl_sync_") {
		t.Errorf("nodes connected as %q (%v), want the fleet's sync role", who, err)
	}
	// Health on each node's published port, without secrets.
	for _, port := range nodePorts {
		var h map[string]any
		if code := getJSON(t, port, "/health", &h); code != 200 {
			t.Errorf("GET /health on %d: HTTP %d", port, code)
		}
	}

	// certify drills the deployment apply made (its canary volume and
	// schema, the role): every check passes.
	cr := f.run("certify", "--json")
	secretFree("certify", cr.all())
	var rep struct {
		OK     bool `json:"ok"`
		Checks []struct {
			Class, Name, Figure string
			OK                  bool
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(cr.stdout), &rep); err != nil || cr.code != 0 || !rep.OK {
		t.Fatalf("certify (exit %d, %v):\n%s", cr.code, err, cr.all())
	}

	// A second plan has no changes.
	r := f.run("plan", "--detailed-exitcode")
	if r.code != 0 || !strings.Contains(r.stdout, "No changes") {
		t.Fatalf("second plan (exit %d):\n%s", r.code, r.all())
	}

	// A changed sync: section replaces both nodes (command changed), then converges.
	data, err := os.ReadFile(f.file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.file, []byte(strings.Replace(string(data), "interval: 200ms", "interval: 300ms", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	p = f.run("plan")
	if strings.Count(p.stdout, "sync node config changed: command") != 2 {
		t.Fatalf("plan after changing the interval:\n%s", p.all())
	}
	secretFree("apply", f.mustApply().all())
	if r := f.run("plan", "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("plan after the replacement (exit %d):\n%s", r.code, r.all())
	}
}

func appendFile(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}
