package plan

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/observe"
)

// hostsSyncCase places before.yaml's objects on the hosts: each client on
// its clients[].host (or At), the sync nodes on sync.host (or NodesAt).
type hostsSyncCase struct {
	At      map[string]string `json:"at"`
	NodesAt string            `json:"nodesAt"`
	// Containers are extra containers by host (strangers).
	Containers map[string][]observe.Container `json:"containers"`
	Options    Options                        `json:"options"`
}

// hostsState is the hosts of spec after applying before, every host
// reachable and holding fleetctl's own image.
func hostsState(t *testing.T, spec, before *fleet.Spec, bs fleet.Secrets, oc hostsSyncCase) *observe.State {
	t.Helper()
	st := &observe.State{Fleet: spec.Fleet, Images: map[string]string{}}
	byHost := map[string]*observe.State{}
	for _, h := range spec.Hosts {
		hst := &observe.State{Fleet: spec.Fleet, Images: map[string]string{"fleetctl/webui-standin:dev": "sha256:x"}, SelfImage: goldenSelfImage}
		byHost[h.Name] = hst
		st.Hosts = append(st.Hosts, observe.HostState{Host: h.Name, State: hst})
	}
	for h, cs := range oc.Containers {
		byHost[h].Containers = append(byHost[h].Containers, cs...)
	}
	if before == nil {
		return st
	}
	where := func(client string) string {
		if h := oc.At[client]; h != "" {
			return h
		}
		if c := before.Client(client); c != nil && c.Host != "" {
			return c.Host
		}
		t.Fatalf("before.yaml: client %s has no host (pin it or give it in observed.json at)", client)
		return ""
	}
	nodes := oc.NodesAt
	if nodes == "" && before.Sync != nil {
		nodes = before.Sync.Host
	}
	full := appliedState(before, bs)
	for _, c := range full.Containers {
		h := nodes
		if cl := c.Labels[observe.LabelClient]; cl != "" {
			h = where(cl)
		}
		c.Labels = withHost(c.Labels, h)
		byHost[h].Containers = append(byHost[h].Containers, c)
	}
	for _, v := range full.Volumes {
		h := where(v.Labels[observe.LabelClient])
		byHost[h].Volumes = append(byHost[h].Volumes, v)
	}
	return st
}

// TestHostsSyncGolden plans the sync of fleets with hosts from
// testdata/hosts-sync/CASE (fleet.yaml, before.yaml, observed.json).
func TestHostsSyncGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/hosts-sync/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			spec, secrets := loadGoldenSpec(t, filepath.Join(dir, "fleet.yaml"))
			var before *fleet.Spec
			var bs fleet.Secrets
			if _, err := os.Stat(filepath.Join(dir, "before.yaml")); err == nil {
				before, bs = loadGoldenSpec(t, filepath.Join(dir, "before.yaml"))
			}
			var oc hostsSyncCase
			if b, err := os.ReadFile(filepath.Join(dir, "observed.json")); err == nil {
				if err := json.Unmarshal(b, &oc); err != nil {
					t.Fatalf("observed.json: %v", err)
				}
			}
			p := BuildHosts(spec, secrets, hostsState(t, spec, before, bs, oc), oc.Options)
			var text, js bytes.Buffer
			if err := p.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			if err := p.WriteJSON(&js); err != nil {
				t.Fatal(err)
			}
			for _, out := range []string{text.String(), js.String()} {
				for _, s := range append([]string{goldenSeed}, values(goldenEnv)...) {
					if strings.Contains(out, s) {
						t.Fatalf("plan output contains a secret value")
					}
				}
			}
			golden(t, filepath.Join(dir, "want.txt"), text.Bytes())
			golden(t, filepath.Join(dir, "want.json"), js.Bytes())
		})
	}
}

// TestHostsSyncConverges applies a plan of nodes on the sync host (in
// memory) and plans again: nothing is left to do.
func TestHostsSyncConverges(t *testing.T) {
	spec, secrets := loadGoldenSpec(t, "testdata/hosts-sync/create/fleet.yaml")
	st := hostsState(t, spec, spec, secrets, hostsSyncCase{At: map[string]string{"beta-client": "h1", "gamma": "h0"}})
	p := BuildHosts(spec, secrets, st, Options{})
	if len(p.Actions) != 0 || len(p.Conflicts) != 0 {
		t.Fatalf("a second plan is not empty:\n%s", text(t, p))
	}
}

// TestHostsSyncBlockedLeavesTheNodes: while the nodes cannot be planned
// (a synced client pinned to another host, or the sync host down), the
// nodes that run are neither replaced nor removed.
func TestHostsSyncBlockedLeavesTheNodes(t *testing.T) {
	before, bs := loadGoldenSpec(t, "testdata/hosts-sync/removed/before.yaml")
	data, err := os.ReadFile("testdata/hosts-sync/removed/before.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// A new synced client pinned to h0, with no sync.host: the synced
	// clients are on two hosts.
	yaml := strings.Replace(string(data), "SYNC_TOKEN}\n  host: h1\n", "SYNC_TOKEN}\n", 1)
	yaml = strings.Replace(yaml, "sync:\n", "  - name: delta\n    port: 8084\n    host: h0\nsync:\n", 1)
	spec, err := fleet.Parse([]byte(yaml), "fleet.yaml")
	if err != nil {
		t.Fatal(err)
	}
	secrets := bs
	for _, down := range []bool{false, true} {
		st := hostsState(t, spec, before, bs, hostsSyncCase{})
		if down {
			st.Hosts[1].State, st.Hosts[1].Err = nil, "connection refused"
		}
		p := BuildHosts(spec, secrets, st, Options{})
		for _, a := range p.Actions {
			if strings.HasPrefix(a.ID, "sync") {
				t.Errorf("down=%v: sync action %s planned:\n%s", down, a.ID, text(t, p))
			}
		}
		var sync bool
		for _, c := range p.Conflicts {
			sync = sync || c.Object == "sync"
		}
		if !sync {
			t.Errorf("down=%v: no sync conflict:\n%s", down, text(t, p))
		}
	}
}
