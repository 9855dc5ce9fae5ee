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

// TestHostsDeploysSyncNodes runs sync on a fleet with two hosts: h1 (an
// extra dockerd, the lock host) and local (the default engine, sync.host);
// c0 is synced, c1 (on h1) and c2 (on local) are not.
// Apply deploys both nodes on local only, one leads, a chat written to the
// synced client on local arrives in the target, and a second plan is empty.
// Deleting sync: removes the nodes from local.
func TestHostsDeploysSyncNodes(t *testing.T) {
	ds := startHosts(t, 1)
	srv, db := startPG(t)
	f := newTestFleet(t, 3)
	nodePorts := freePorts(t, 2)
	const token = "sync-HOSTS-token-7c2e41"
	t.Setenv("IT_SYNC_URL", srv.BridgeURL(db))
	t.Setenv("IT_SYNC_TOKEN", token)
	local := os.Getenv("DOCKER_HOST")
	if local == "" {
		local = "unix:///var/run/docker.sock"
	}
	cs := f.clients()
	// c0 is unpinned: placement steers a synced client to the sync host;
	// by load (1:1) and name h1 would get it.
	cs[1].extra = "    host: h1\n"
	cs[2].extra = "    host: local\n"
	f.write(cs, "")
	f.writeHosts(ds, "")
	appendFile(t, f.file, "  - name: local\n    endpoint: "+local+"\n")
	nodes := []string{f.name + "-sync-a", f.name + "-sync-b"}
	sync := fmt.Sprintf("sync:\n  target:\n    url: ${env:IT_SYNC_URL}\n  adminToken: ${env:IT_SYNC_TOKEN}\n"+
		"  clients: [c0]\n  host: local\n"+
		"  interval: 200ms\n  fullInterval: 2s\n  lease: 3s\n  renew: 500ms\n"+
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
	hostPart := p.stdout[strings.Index(p.stdout, "Host local:")+1:]
	if !strings.Contains(p.stdout, "Host local:") || strings.Count(p.stdout, "sync role fleetctl_sync_") != 1 ||
		!strings.Contains(hostPart, "+ container "+nodes[0]) || !strings.Contains(hostPart, "+ container "+f.ctr("c0")) {
		t.Fatalf("plan does not deploy c0 and the sync nodes on host local (exit %d):\n%s", p.code, p.all())
	}
	secretFree("apply", f.mustApply().all())
	t.Cleanup(func() {
		if t.Failed() {
			logs(t, nodes)
		}
	})
	for _, n := range nodes {
		if st := dockerCLI(t, "inspect", "--format", `{{.State.Status}} {{index .Config.Labels "io.fleetctl.host"}}`, n); st != "running local" {
			t.Fatalf("node %s on the default engine: %q, want running, labelled local", n, st)
		}
		if out := onHost(t, ds[0], "ps", "-aq", "--filter", "name="+n); out != "" {
			t.Fatalf("node %s exists on h1: %s", n, out)
		}
	}
	if got := hostClients(t, ds[0], f.name); got["c1"] != "running h1" || got["c0"] != "" {
		t.Fatalf("h1 holds %v, want c1 only", got)
	}

	// One leads.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var st struct {
		Leader string `json:"leader"`
		Nodes  []struct {
			ID string `json:"id"`
		} `json:"nodes"`
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

	// A chat written to c0 (on local) arrives in client_c0.
	postJSON(t, cs[0].port, "/_standin/chats", chat{ID: "chat-hosts-1", UserID: "u1", Title: "replicated", Chat: json.RawMessage(`{"messages":[]}`)})
	var got string
	for ctx.Err() == nil {
		got, _ = srv.Psql(ctx, db, `SELECT count(*) FROM client_c0.chat WHERE id = 'chat-hosts-1'`)
		if n, _ := strconv.Atoi(got); n == 1 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got != "1" {
		t.Fatalf("chat-hosts-1 not in client_c0.chat (%q)", got)
	}

	if r := f.run("plan", "--detailed-exitcode"); r.code != 0 || !strings.Contains(r.stdout, "No changes") {
		t.Fatalf("second plan (exit %d):\n%s", r.code, r.all())
	}

	// Without sync: the nodes are removed from local; the clients stay.
	data, err := os.ReadFile(f.file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.file, []byte(strings.SplitN(string(data), "sync:\n", 2)[0]), 0o644); err != nil {
		t.Fatal(err)
	}
	p = f.run("plan")
	if strings.Count(p.stdout, "# sync: removed from fleet.yaml") != 2 {
		t.Fatalf("plan without sync: does not remove both nodes (exit %d):\n%s", p.code, p.all())
	}
	f.mustApply()
	for _, n := range nodes {
		if id := containerID(t, n); id != "" {
			t.Errorf("node %s still exists after sync: was deleted", n)
		}
	}
	if r := f.run("plan", "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("plan after removing the nodes (exit %d):\n%s", r.code, r.all())
	}
}
