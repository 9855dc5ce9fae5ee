package plan

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/observe"
)

// hostsFleet parses a fleet of the given hosts (h0..) and clients; extra is
// YAML appended to each client by index (host pins, resources).
func hostsFleet(tb testing.TB, hosts int, hostExtra string, clients int, extra func(i int) string) (*fleet.Spec, fleet.Secrets) {
	tb.Helper()
	var b strings.Builder
	b.WriteString("apiVersion: fleetctl/v1\nfleet: hosts\nsecretKeySeed: ${env:SEED}\ndefaults:\n  image: fleetctl/webui-standin:dev\nhosts:\n")
	for i := 0; i < hosts; i++ {
		fmt.Fprintf(&b, "  - name: h%d\n    endpoint: unix:///run/h%d.sock\n%s", i, i, hostExtra)
	}
	b.WriteString("clients:\n")
	for i := 0; i < clients; i++ {
		fmt.Fprintf(&b, "  - name: c%d\n    port: %d\n", i, 2000+i)
		if extra != nil {
			b.WriteString(extra(i))
		}
	}
	spec, err := fleet.Parse([]byte(b.String()), "hosts.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	secrets, err := fleet.Resolver{LookupEnv: func(k string) (string, bool) { return "v-" + k, true }}.Resolve(spec)
	if err != nil {
		tb.Fatal(err)
	}
	return spec, secrets
}

// emptyHosts observes every host of spec, reachable and empty.
func emptyHosts(spec *fleet.Spec) []observe.HostState {
	var out []observe.HostState
	for _, h := range spec.Hosts {
		out = append(out, observe.HostState{Host: h.Name, State: &observe.State{
			Fleet: spec.Fleet, Images: map[string]string{"fleetctl/webui-standin:dev": "sha256:x"}}})
	}
	return out
}

// applyOn is the hosts' state after applying plan p.
func applyOn(spec *fleet.Spec, secrets fleet.Secrets, hosts []observe.HostState, p *Plan) {
	full := appliedState(spec, secrets)
	ctrs := map[string]observe.Container{}
	for _, c := range full.Containers {
		ctrs[c.Labels[observe.LabelClient]] = c
	}
	vols := map[string]observe.Volume{}
	for _, v := range full.Volumes {
		vols[v.Labels[observe.LabelClient]] = v
	}
	byHost := map[string]*observe.State{}
	for i := range hosts {
		byHost[hosts[i].Host] = hosts[i].State
		for k, v := range full.Images {
			hosts[i].State.Images[k] = v
		}
	}
	for _, a := range p.Actions {
		st := byHost[a.Host]
		if st == nil || (a.Kind != KindCreateContainer && a.Kind != KindMoveClient) {
			continue
		}
		if a.Kind == KindMoveClient { // the old container goes, its volume stays
			old := byHost[a.Move.From]
			kept := old.Containers[:0]
			for _, c := range old.Containers {
				if c.Labels[observe.LabelClient] != a.Client {
					kept = append(kept, c)
				}
			}
			old.Containers = kept
		}
		c := ctrs[a.Client]
		c.Labels = withHost(c.Labels, a.Host)
		st.Containers = append(st.Containers, c)
		st.Volumes = append(st.Volumes, vols[a.Client])
	}
}

func TestPlaceLeastLoadedThenName(t *testing.T) {
	spec, _ := hostsFleet(t, 3, "", 7, func(i int) string {
		if i == 0 {
			return "    host: h2\n"
		}
		return ""
	})
	pl := Place(spec, emptyHosts(spec))
	want := map[string]string{"c0": "h2", "c1": "h0", "c2": "h1", "c3": "h0", "c4": "h1", "c5": "h2", "c6": "h0"}
	for c, h := range want {
		if pl.Host[c] != h {
			t.Errorf("%s on %q, want %s (placement %v)", c, pl.Host[c], h, pl.Host)
		}
	}
}

func TestPlaceRespectsCapacity(t *testing.T) {
	spec, _ := hostsFleet(t, 2, "    capacity:\n      maxClients: 2\n      memory: 1g\n", 5, func(i int) string {
		if i == 1 {
			return "    resources:\n      memory: 1g\n"
		}
		return ""
	})
	pl := Place(spec, emptyHosts(spec))
	// c0 -> h0 (tie, name order); c1 (1g) -> h1 (fewest); c2 -> h0 (tie);
	// c3 -> h1 (h0 is at maxClients; c3 needs no memory); c4: both full.
	want := map[string]string{"c0": "h0", "c1": "h1", "c2": "h0", "c3": "h1"}
	for c, h := range want {
		if pl.Host[c] != h {
			t.Errorf("%s on %q, want %s", c, pl.Host[c], h)
		}
	}
	if _, ok := pl.Blocked["c4"]; !ok || pl.Host["c4"] != "" {
		t.Errorf("c4 should be blocked for lack of room: %+v", pl)
	}
}

func TestPlacementIsReadBackAndNeverMovesImplicitly(t *testing.T) {
	spec, secrets := hostsFleet(t, 2, "", 4, nil)
	hosts := emptyHosts(spec)
	p := BuildHosts(spec, secrets, &observe.State{Hosts: hosts}, Options{})
	applyOn(spec, secrets, hosts, p)
	if again := BuildHosts(spec, secrets, &observe.State{Hosts: hosts}, Options{}); !again.Empty() || len(again.Conflicts) > 0 {
		t.Fatalf("second plan not empty:\n%s", text(t, again))
	}
	// A third host arrives empty: least loaded now, yet nobody moves to it.
	spec3, secrets3 := hostsFleet(t, 3, "", 5, nil)
	hosts = append(hosts, emptyHosts(spec3)[2])
	p3 := BuildHosts(spec3, secrets3, &observe.State{Hosts: hosts}, Options{})
	if len(p3.Actions) != 2 || p3.Actions[0].Host != "h2" || p3.Actions[0].Client != "c4" {
		t.Fatalf("want only c4 created on h2:\n%s", text(t, p3))
	}
}

func TestUnreachableHostMakesItsClientsUnknown(t *testing.T) {
	spec, secrets := hostsFleet(t, 2, "", 4, nil)
	hosts := emptyHosts(spec)
	applyOn(spec, secrets, hosts, BuildHosts(spec, secrets, &observe.State{Hosts: hosts}, Options{}))
	// c1 and c3 live on h1; h1 goes away, c0's container is removed on h0.
	hosts[1] = observe.HostState{Host: "h1", Err: "connection refused"}
	hosts[0].State.Containers = hosts[0].State.Containers[1:]
	spec5, secrets5 := hostsFleet(t, 2, "", 5, func(i int) string {
		if i == 4 {
			return "    host: h0\n"
		}
		return ""
	})
	p := BuildHosts(spec5, secrets5, &observe.State{Hosts: hosts}, Options{})
	out := text(t, p)
	var created []string
	for _, a := range p.Actions {
		if a.Host != "h0" {
			t.Errorf("action on %q: %s", a.Host, a.ID)
		}
		if a.Kind == KindCreateContainer {
			created = append(created, a.Client)
		}
	}
	if strings.Join(created, ",") != "c0" {
		t.Errorf("created %v, want c0 (repaired) only: c4, pinned to a reachable host but found on none, may be on the unreachable one", created)
	}
	unknown := map[string]bool{}
	for _, c := range p.Conflicts {
		if c.Host == "h1" && strings.Contains(c.Message, "cannot be reached") {
			unknown[c.Client] = true
		}
	}
	if len(unknown) != 3 || !unknown["c1"] || !unknown["c3"] || !unknown["c4"] {
		t.Errorf("unknown clients %v, want c1, c3 and c4:\n%s", unknown, out)
	}
	for _, want := range []string{"Host h1: UNREACHABLE (connection refused)", "? unknown, nothing planned: c1, c3, c4"} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
	// An unpinned new client is not placed while a host is unknown.
	spec6, secrets6 := hostsFleet(t, 2, "", 6, nil)
	p6 := BuildHosts(spec6, secrets6, &observe.State{Hosts: hosts}, Options{})
	if a := p6.Action("container.c5"); a != nil {
		t.Errorf("c5 placed on %s while h1 is unreachable", a.Host)
	}
}

func TestPinnedElsewhereIsAMove(t *testing.T) {
	spec, secrets := hostsFleet(t, 2, "", 2, nil)
	hosts := emptyHosts(spec)
	applyOn(spec, secrets, hosts, BuildHosts(spec, secrets, &observe.State{Hosts: hosts}, Options{}))
	moved, ms := hostsFleet(t, 2, "", 2, func(i int) string {
		if i == 0 {
			return "    host: h1\n"
		}
		return ""
	})
	p := BuildHosts(moved, ms, &observe.State{Hosts: hosts}, Options{})
	if len(p.Actions) != 1 || len(p.Conflicts) != 0 {
		t.Fatalf("want one move of c0:\n%s", text(t, p))
	}
	a := p.Actions[0]
	if a.Kind != KindMoveClient || a.Host != "h1" || a.Move.From != "h0" || a.Move.To != "h1" || a.ID != "container.c0" ||
		a.Volume == nil || a.Container == nil || a.Container.Labels[observe.LabelHost] != "h1" || a.ExistingID == "" || !a.Move.OldRunning {
		t.Fatalf("move action: %+v\n%s", a, text(t, p))
	}
	var steps []string
	for _, s := range a.Move.Steps {
		steps = append(steps, s.Step)
	}
	if got := strings.Join(steps, ","); got != "stop,copy,create,health,switch,remove-old" {
		t.Errorf("steps %s", got)
	}
	out := text(t, p)
	for _, want := range []string{"move from host h0 to host h1", "the old volume is kept on h0", "downtime:", "on failure:", "1 to change"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan text lacks %q:\n%s", want, out)
		}
	}
	var js bytes.Buffer
	if err := p.WriteJSON(&js); err != nil || !strings.Contains(js.String(), `"kind": "move-client"`) || !strings.Contains(js.String(), `"from": "h0"`) {
		t.Errorf("JSON lacks the move (%v):\n%s", err, js.String())
	}
	// After the move the old volume is kept on h0: the client is on h1 and
	// nothing is planned.
	applyOn(moved, ms, hosts, p)
	if again := BuildHosts(moved, ms, &observe.State{Hosts: hosts}, Options{}); !again.Empty() || len(again.Conflicts) != 0 {
		t.Fatalf("re-plan after the move:\n%s", text(t, again))
	}
	// Containers of the client on both hosts (an unfinished move): blocked.
	for _, c := range hosts[1].State.Containers {
		if c.Labels[observe.LabelClient] == "c0" {
			hosts[0].State.Containers = append(hosts[0].State.Containers, c)
		}
	}
	if p := BuildHosts(moved, ms, &observe.State{Hosts: hosts}, Options{}); !p.Empty() || len(p.Conflicts) != 1 || p.Conflicts[0].Client != "c0" {
		t.Fatalf("want a conflict for c0 with containers on both hosts:\n%s", text(t, p))
	}
}

func TestHostPlansPullPerHostAndLabelPlacement(t *testing.T) {
	spec, secrets := hostsFleet(t, 2, "", 2, nil)
	hosts := emptyHosts(spec)
	for i := range hosts {
		hosts[i].State.Images = map[string]string{}
	}
	p := BuildHosts(spec, secrets, &observe.State{Hosts: hosts}, Options{})
	ids := map[string]*Action{}
	for i := range p.Actions {
		ids[p.Actions[i].ID] = &p.Actions[i]
	}
	for _, h := range []string{"h0", "h1"} {
		pull := ids["image.fleetctl/webui-standin:dev#"+h]
		if pull == nil || pull.Host != h {
			t.Fatalf("no pull on %s:\n%s", h, text(t, p))
		}
	}
	c0 := ids["container.c0"]
	if c0.Host != "h0" || c0.Container.Labels[observe.LabelHost] != "h0" || !contains(c0.DependsOn, "image.fleetctl/webui-standin:dev#h0") {
		t.Errorf("c0: host %s labels %v deps %v", c0.Host, c0.Container.Labels, c0.DependsOn)
	}
	if v := ids["volume.c1"]; v.Volume.Labels[observe.LabelHost] != "h1" {
		t.Errorf("volume labels %v", v.Volume.Labels)
	}
	// Grouped by host in the text and in the action order.
	out := text(t, p)
	if i, j := strings.Index(out, "Host h0:"), strings.Index(out, "Host h1:"); i < 0 || j < i ||
		strings.Index(out, "openwebui-c1 (client c1)") < j || strings.Index(out, "openwebui-c0 (client c0)") > j {
		t.Errorf("not grouped by host:\n%s", out)
	}
}

func TestNoHostsPlansAreUnchanged(t *testing.T) {
	// Build is what a fleet without hosts uses; BuildHosts must not be
	// reached, and Build's output has no host fields (goldens cover the rest).
	spec, secrets := benchFleet(t, 2)
	var js bytes.Buffer
	if err := Build(spec, secrets, &observe.State{Fleet: spec.Fleet}, Options{}).WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(js.String(), `"host`) {
		t.Errorf("a plan without hosts mentions hosts:\n%s", js.String())
	}
}

func text(t *testing.T, p *Plan) string {
	t.Helper()
	var b bytes.Buffer
	if err := p.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// BenchmarkBuildHosts plans 10,000 clients over 10 hosts in memory: cold
// (every client placed and created) and no-op (every client in place).
func BenchmarkBuildHosts(b *testing.B) {
	spec, secrets := hostsFleet(b, 10, "", 10000, nil)
	cold := emptyHosts(spec)
	b.Run("cold", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			BuildHosts(spec, secrets, &observe.State{Hosts: cold}, Options{})
		}
	})
	warm := emptyHosts(spec)
	applyOn(spec, secrets, warm, BuildHosts(spec, secrets, &observe.State{Hosts: warm}, Options{}))
	b.Run("no-op", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if p := BuildHosts(spec, secrets, &observe.State{Hosts: warm}, Options{}); !p.Empty() {
				b.Fatalf("not a no-op: %s", p.SummaryLine())
			}
		}
	})
}

func TestHostsProxyUpstreamsFollowPlacement(t *testing.T) {
	y := `apiVersion: fleetctl/v1
fleet: hosts
secretKeySeed: ${env:SEED}
defaults:
  image: fleetctl/webui-standin:dev
proxy:
  sitesDir: /etc/nginx/sites-enabled
  tls: none
hosts:
  - name: front
    endpoint: unix:///run/front.sock
  - name: back
    endpoint: tcp://10.9.9.2:2376
    address: 10.9.9.2
clients:
  - {name: a, port: 2001, domain: a.example.com, host: front}
  - {name: b, port: 2002, domain: b.example.com, host: back}
  - {name: c, port: 2003, host: back}
  - {name: d, port: 2004, domain: d.example.com, host: back, bindAddress: 0.0.0.0}
`
	spec, err := fleet.Parse([]byte(y), "proxy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	secrets, err := fleet.Resolver{LookupEnv: func(k string) (string, bool) { return "v-" + k, true }}.Resolve(spec)
	if err != nil {
		t.Fatal(err)
	}
	hosts := emptyHosts(spec)
	p := BuildHosts(spec, secrets, &observe.State{Hosts: hosts, Sites: &observe.SitesState{Dir: "/etc/nginx/sites-enabled"}}, Options{})
	bind := map[string]string{}
	for _, a := range p.Actions {
		if a.Container != nil {
			bind[a.Client] = a.Container.BindAddress
		}
	}
	// Loopback on the proxy's host and for a client without a domain; the
	// back host's address for a proxied client there; an explicit bind kept.
	want := map[string]string{"a": "127.0.0.1", "b": "10.9.9.2", "c": "127.0.0.1", "d": "0.0.0.0"}
	for c, w := range want {
		if bind[c] != w {
			t.Errorf("client %s published on %q, want %s", c, bind[c], w)
		}
	}
	sites := p.Action(SitesActionID)
	if sites == nil || sites.Host != "" {
		t.Fatalf("no sync-sites action off the hosts:\n%s", text(t, p))
	}
	up := map[string]string{}
	for _, ch := range sites.Sites {
		up[ch.Client] = ch.Site.Upstream
	}
	if up["a"] != "127.0.0.1:2001" || up["b"] != "10.9.9.2:2002" || up["d"] != "10.9.9.2:2004" {
		t.Errorf("upstreams %v", up)
	}
	if !contains(sites.DependsOn, "container.a") || !contains(sites.DependsOn, "container.b") {
		t.Errorf("sites depend on %v", sites.DependsOn)
	}
	// With the back host down, b's and d's sites stay as they are (the
	// containers exist: a client found on no reachable host is unknown).
	applyOn(spec, secrets, hosts, p)
	hosts[1] = observe.HostState{Host: "back", Err: "down"}
	p = BuildHosts(spec, secrets, &observe.State{Hosts: hosts, Sites: &observe.SitesState{Dir: "/etc/nginx/sites-enabled"}}, Options{})
	if s := p.Action(SitesActionID); s == nil || len(s.Sites) != 1 || s.Sites[0].Client != "a" {
		t.Errorf("sites with back down: %+v", s)
	}
}

func TestMoveSwitchesTheProxyUpstream(t *testing.T) {
	y := `apiVersion: fleetctl/v1
fleet: hosts
secretKeySeed: ${env:SEED}
defaults:
  image: fleetctl/webui-standin:dev
proxy:
  sitesDir: /etc/nginx/sites-enabled
  tls: none
hosts:
  - name: front
    endpoint: unix:///run/front.sock
  - name: back
    endpoint: tcp://10.9.9.2:2376
    address: 10.9.9.2
clients:
  - {name: a, port: 2001, domain: a.example.com, host: HOST}
`
	load := func(host string) (*fleet.Spec, fleet.Secrets) {
		spec, err := fleet.Parse([]byte(strings.Replace(y, "HOST", host, 1)), "proxy.yaml")
		if err != nil {
			t.Fatal(err)
		}
		secrets, err := fleet.Resolver{LookupEnv: func(k string) (string, bool) { return "v-" + k, true }}.Resolve(spec)
		if err != nil {
			t.Fatal(err)
		}
		return spec, secrets
	}
	spec, secrets := load("front")
	hosts := emptyHosts(spec)
	sites := &observe.SitesState{Dir: "/etc/nginx/sites-enabled"}
	applyOn(spec, secrets, hosts, BuildHosts(spec, secrets, &observe.State{Hosts: hosts, Sites: sites}, Options{}))
	moved, ms := load("back")
	p := BuildHosts(moved, ms, &observe.State{Hosts: hosts, Sites: sites}, Options{})
	mv := p.Action("container.a")
	if mv == nil || mv.Kind != KindMoveClient || mv.Host != "back" || mv.Container.BindAddress != "10.9.9.2" {
		t.Fatalf("want a's move to back, published on its address:\n%s", text(t, p))
	}
	s := p.Action(SitesActionID)
	if s == nil || !contains(s.DependsOn, "container.a") || len(s.Sites) != 1 || s.Sites[0].Site.Upstream != "10.9.9.2:2001" {
		t.Fatalf("sites after the move: %+v\n%s", s, text(t, p))
	}
}

func TestWatchHoldsAMove(t *testing.T) {
	spec, secrets := hostsFleet(t, 2, "", 1, nil)
	hosts := emptyHosts(spec)
	applyOn(spec, secrets, hosts, BuildHosts(spec, secrets, &observe.State{Hosts: hosts}, Options{}))
	moved, ms := hostsFleet(t, 2, "", 1, func(int) string { return "    host: h1\n" })
	p := BuildHosts(moved, ms, &observe.State{Hosts: hosts}, Options{HoldMigrations: true})
	if len(p.Actions) != 0 || len(p.Held) != 1 || p.Held[0].Kind != KindMoveClient || p.Held[0].Client != "c0" {
		t.Fatalf("want the move held:\n%s", text(t, p))
	}
}
