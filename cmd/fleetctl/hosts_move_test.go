package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestHostsMove moves a client with data from h1 to h2 by changing its
// host: in fleet.yaml. A move whose new container never gets healthy leaves
// the client on h1; the real move carries every row, removes the old
// container and keeps the old volume on h1.
func TestHostsMove(t *testing.T) {
	ds := startHosts(t, 2)
	f := newTestFleet(t, 2)
	cs := f.clients()
	cs[0].extra = "    host: h1\n"
	cs[1].extra = "    host: h2\n"
	f.write(cs, "")
	f.writeHosts(ds, "")
	f.mustApply()
	port := cs[0].port
	want := map[string]bool{}
	for i := 0; i < 50; i++ {
		id := fmt.Sprintf("move-%d", i)
		postJSON(t, port, "/_standin/chats", map[string]any{"id": id, "user_id": "u", "title": "row " + id, "chat": map[string]any{"messages": []any{}}})
		want[id] = true
	}
	vol := f.name + "-c0-data"
	hasAll := func(when string) {
		t.Helper()
		got := chatIDs(t, port)
		for id := range want {
			if !got[id] {
				t.Fatalf("%s: chat %s is missing (%d of %d rows)", when, id, len(got), len(want))
			}
		}
	}

	// A move whose new container fails its health check: c0 stays on h1.
	cs[0].extra = "    host: h2\n    env:\n      STANDIN_UNHEALTHY: \"1\"\n    healthCheck:\n      timeout: 3s\n"
	f.write(cs, "")
	f.writeHosts(ds, "")
	r := f.run("apply", "--auto-approve")
	t.Logf("failed move:\n%s", r.all())
	f.noSecrets("apply", r.all())
	if r.code != 1 || !strings.Contains(r.all(), "step health") || !strings.Contains(r.all(), "put back on host h1") {
		t.Fatalf("failed move: exit %d, want 1 and the client put back\n%s", r.code, r.all())
	}
	if got := hostClients(t, ds[0], f.name); got["c0"] != "running h1" {
		t.Fatalf("h1 after the failed move: %v, want c0 running", got)
	}
	if got := hostClients(t, ds[1], f.name); got["c0"] != "" {
		t.Fatalf("h2 after the failed move: %v, want no c0", got)
	}
	if v := onHost(t, ds[1], "volume", "ls", "-q", "--filter", "name="+vol); v != "" {
		t.Fatalf("h2 kept the new volume of the failed move: %s", v)
	}
	hasAll("after the failed move")

	// The move: plan says from → to, the steps and the kept volume.
	cs[0].extra = "    host: h2\n"
	f.write(cs, "")
	f.writeHosts(ds, "")
	p := f.run("plan", "--detailed-exitcode")
	for _, s := range []string{"move from host h1 to host h2", "the old volume is kept on h1", "downtime:", "on failure:"} {
		if p.code != 2 || !strings.Contains(p.stdout, s) {
			t.Fatalf("plan of the move: exit %d, lacks %q?\n%s", p.code, s, p.all())
		}
	}
	var pj struct {
		Actions []struct {
			Kind string `json:"kind"`
			Host string `json:"host"`
			Move *struct {
				From, To string
				Steps    []struct{ Step string }
			} `json:"move"`
		} `json:"actions"`
	}
	jr := f.run("plan", "--json")
	if err := json.Unmarshal([]byte(jr.stdout), &pj); err != nil || len(pj.Actions) != 1 || pj.Actions[0].Kind != "move-client" ||
		pj.Actions[0].Move == nil || pj.Actions[0].Move.From != "h1" || pj.Actions[0].Move.To != "h2" || len(pj.Actions[0].Move.Steps) != 6 {
		t.Fatalf("plan --json of the move: %v\n%s", err, jr.all())
	}
	r = f.mustApply()
	t.Logf("move:\n%s", r.all())
	f.noSecrets("apply", r.all())
	if got := hostClients(t, ds[1], f.name); got["c0"] != "running h2" {
		t.Fatalf("h2 after the move: %v, want c0 running, labelled h2", got)
	}
	if got := hostClients(t, ds[0], f.name); got["c0"] != "" {
		t.Fatalf("h1 after the move: %v, want the old container gone", got)
	}
	if v := onHost(t, ds[0], "volume", "ls", "-q", "--filter", "name="+vol); v != vol {
		t.Fatalf("h1 after the move: volume %q, want %s kept", v, vol)
	}
	hasAll("after the move")
	if name := appName(t, port); name != uiName(cs[0].display) {
		t.Errorf("c0 answers %q after the move", name)
	}
	if r := f.run("plan", "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("plan after the move: exit %d, want no changes\n%s", r.code, r.all())
	}
}
