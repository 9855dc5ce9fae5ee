package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/observe"
)

// HostStatus is one fleet host as the plan saw it.
type HostStatus struct {
	Name      string `json:"name"`
	Reachable bool   `json:"reachable"`
	// Error says why the host could not be observed.
	Error string `json:"error,omitempty"`
	// Lock: this host's engine holds the fleet's lock.
	Lock bool `json:"lock,omitempty"`
	// Clients are the clients placed on the host, in fleet.yaml order.
	Clients []string `json:"clients"`
	// Unknown are the clients whose state cannot be known because the host
	// was not observed; nothing is planned for them.
	Unknown []string `json:"unknown,omitempty"`
}

// unobservedSites is the start of the warning a host's Build gives when it
// sees no sites directory: per-host builds never get one (see BuildHosts).
const unobservedSites = "fleet.yaml has a proxy section but the nginx sites directory was not observed"

// BuildHosts plans a fleet with hosts: it places the clients (Place), then
// plans each reachable host's clients against that host's snapshot with
// Build and merges the results, every action and problem naming its host.
// A client whose host was not observed gets no action but a conflict that
// names the host, so the other hosts converge while apply still fails.
// st.Hosts must list every host of s.Hosts in order; st.Sites is the
// proxy's sites directory (proxy_hosts.go). BuildHosts is pure.
func BuildHosts(s *fleet.Spec, secrets fleet.Secrets, st *observe.State, opt Options) *Plan {
	hosts := st.Hosts
	pl := Place(s, hosts)
	out := &Plan{
		FormatVersion: 1, Fleet: s.Fleet, SpecDigest: s.Digest, Options: opt,
		Actions: []Action{}, Conflicts: []Problem{}, Orphans: []Orphan{}, Down: []Down{}, Warnings: []string{},
	}
	onHost := map[string][]string{}
	for i := range s.Clients {
		name := s.Clients[i].Name
		if h := pl.Host[name]; h != "" {
			onHost[h] = append(onHost[h], name)
		}
	}
	targeted := func(client string) bool {
		return !contains(opt.Exclude, client) && (len(opt.Targets) == 0 || contains(opt.Targets, client))
	}
	fp := sha256.New()
	sites := newSitesPlanner(s, secrets, st, opt, pl) // proxy_hosts.go
	for _, p := range sites.conflicts() {
		out.Conflicts = append(out.Conflicts, p)
		delete(pl.Host, p.Client) // no container for a client whose site is blocked
	}
	for i := range hosts {
		hs := &hosts[i]
		status := HostStatus{Name: hs.Host, Reachable: hs.Reachable(), Error: hs.Err,
			Lock: hs.Host == s.LockHostName(), Clients: onHost[hs.Host]}
		if status.Clients == nil {
			status.Clients = []string{}
		}
		for j := range s.Clients {
			c := &s.Clients[j]
			if pl.Unknown[c.Name] != hs.Host || !targeted(c.Name) {
				continue
			}
			status.Unknown = append(status.Unknown, c.Name)
			msg := "the client's state is unknown; nothing is planned for it"
			if c.Host == "" {
				msg = "the client is on no reachable host and may be on this one; it is not placed until every host answers"
			}
			out.Conflicts = append(out.Conflicts, Problem{Client: c.Name, Host: hs.Host,
				Message: fmt.Sprintf("host %s cannot be reached (%s): %s", hs.Host, hs.Err, msg)})
		}
		out.Hosts = append(out.Hosts, status)
		if !hs.Reachable() {
			fmt.Fprintf(fp, "host %s unreachable\n", hs.Host)
			continue
		}
		sub := buildOnHost(s, secrets, movedPorts(s, hs, hosts, pl), opt, pl) // move.go
		fmt.Fprintf(fp, "host %s %s\n", hs.Host, sub.Fingerprint)
		merge(out, sub, hs.Host)
	}
	for j := range s.Clients {
		if p, ok := pl.Blocked[s.Clients[j].Name]; ok && targeted(p.Client) {
			out.Conflicts = append(out.Conflicts, p)
		}
	}
	held := moves(out, pl, st, s.Fleet, opt.HoldMigrations) // move.go
	sites.plan(out, held)
	syncAfterMoves(out, s, pl, st) // sync_hosts.go
	if s.Monitoring != nil && s.Monitoring.Deploy {
		out.Warnings = append(out.Warnings, "monitoring.deploy: Prometheus and Grafana are not deployed on a fleet with hosts (run them on a single engine, or render with `fleetctl monitoring render`)")
	}
	if st.Sites != nil {
		fmt.Fprintf(fp, "sites %s\n", (&observe.State{Sites: st.Sites}).Fingerprint())
	}
	out.Fingerprint = hex.EncodeToString(fp.Sum(nil))[:16]
	sortHostActions(out.Actions, s.Hosts)
	out.summarize()
	return out
}

// buildOnHost plans the clients placed on one host with Build, given a
// copy of the spec that holds only them (so a host's plan costs what its own
// clients cost). Clients of the spec placed elsewhere whose objects are on
// this host are excluded, so they are neither planned nor orphans here.
func buildOnHost(s *fleet.Spec, secrets fleet.Secrets, hs *observe.HostState, opt Options, pl Placement) *Plan {
	sub := *s
	hsync := syncOn(s, pl) // sync_hosts.go
	if hsync.leave || hs.Host != hsync.host {
		sub.Sync = nil // the nodes are planned on the sync host only
	}
	sub.Clients = make([]fleet.Client, 0, len(s.Clients)/max(len(s.Hosts), 1)+1)
	// So is the monitoring deploy (BuildHosts warns).
	sub.Monitoring = nil
	inSpec := make(map[string]bool, len(s.Clients))
	for i := range s.Clients {
		c := &s.Clients[i]
		inSpec[c.Name] = true
		if pl.Host[c.Name] == hs.Host {
			sub.Clients = append(sub.Clients, proxied(s, *c, hs.Host))
		}
	}
	hopt := opt
	hopt.Exclude = append([]string(nil), opt.Exclude...)
	elsewhere := func(l map[string]string) {
		if c := l[observe.LabelClient]; c != "" && inSpec[c] && pl.Host[c] != hs.Host && observe.Managed(l, s.Fleet) && !contains(hopt.Exclude, c) {
			hopt.Exclude = append(hopt.Exclude, c)
		}
	}
	for i := range hs.State.Containers {
		elsewhere(hs.State.Containers[i].Labels)
	}
	for i := range hs.State.Volumes {
		elsewhere(hs.State.Volumes[i].Labels)
	}
	st := *hs.State
	st.Sites, st.SitesErr = nil, ""
	p := build(&sub, secrets, &st, hopt, hsync)
	for i := range p.Actions {
		a := &p.Actions[i]
		if a.Container != nil {
			a.Container.Labels = withHost(a.Container.Labels, hs.Host)
		}
		if a.Volume != nil {
			a.Volume.Labels = withHost(a.Volume.Labels, hs.Host)
		}
	}
	return p
}

// withHost copies labels adding the placement label; it is not part of the
// config hash, so recording a placement never recreates a container.
func withHost(l map[string]string, host string) map[string]string {
	out := make(map[string]string, len(l)+1)
	for k, v := range l {
		out[k] = v
	}
	out[observe.LabelHost] = host
	return out
}

// merge adds one host's plan to the fleet's. Image pulls are per host, so
// their IDs get the host appended ("image.REF#HOST") and so do the
// dependencies on them.
func merge(out, sub *Plan, host string) {
	renamed := map[string]string{}
	for _, a := range sub.Actions {
		if a.Kind == KindPullImage {
			renamed[a.ID] = a.ID + "#" + host
		}
	}
	for _, a := range sub.Actions {
		if a.Kind == KindSyncSites {
			continue
		}
		a.Host = host
		if id, ok := renamed[a.ID]; ok {
			a.ID = id
		}
		if len(a.DependsOn) > 0 {
			deps := make([]string, len(a.DependsOn))
			for i, d := range a.DependsOn {
				deps[i] = d
				if id, ok := renamed[d]; ok {
					deps[i] = id
				}
			}
			a.DependsOn = deps
		}
		out.Actions = append(out.Actions, a)
	}
	for _, c := range sub.Conflicts {
		c.Host = host
		out.Conflicts = append(out.Conflicts, c)
	}
	for _, o := range sub.Orphans {
		o.Host = host
		out.Orphans = append(out.Orphans, o)
	}
	out.Down = append(out.Down, sub.Down...)
	out.Held = append(out.Held, sub.Held...)
	if r := sub.RequeueAfterMS; r > 0 && (out.RequeueAfterMS == 0 || r < out.RequeueAfterMS) {
		out.RequeueAfterMS = r
	}
	for _, w := range sub.Warnings {
		if !strings.HasPrefix(w, unobservedSites) {
			out.Warnings = append(out.Warnings, "host "+host+": "+w)
		}
	}
}

// sortHostActions orders actions by host (fleet.yaml order), then as Build
// orders one host's actions.
func sortHostActions(as []Action, hosts []fleet.Host) {
	rank := make(map[string]int, len(hosts))
	for i := range hosts {
		rank[hosts[i].Name] = i
	}
	sortActions(as)
	sort.SliceStable(as, func(i, j int) bool { return rank[as[i].Host] < rank[as[j].Host] })
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
