package plan

import (
	"fmt"
	"slices"
	"strings"

	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/observe"
)

// SyncPlacement is where a fleet with hosts runs its sync nodes. The nodes
// mount every synced client's volume, and a volume exists only on the host
// its client runs on, so the nodes and all the synced clients share one
// host: sync.host, or by default the host every synced client is on.
//
// Placement steers new unpinned synced clients to that host (rather than the
// least loaded one): otherwise a second synced client would land elsewhere
// and the nodes could not be planned at all. A pinned synced client whose
// clients[].host names another host is not moved (its move is refused), so
// no node is ever left mounting a volume that moved away; leaving it out of
// sync.clients first, or moving sync.host with it, lets it go.
type SyncPlacement struct {
	// Host is the sync host ("" when there is none or it cannot be known).
	Host string
	// Blocked says why no sync node is planned on any host (a conflict of
	// the plan); the nodes that run are left as they are.
	Blocked *Problem
}

// syncPlacer decides the sync host while Place places the clients.
type syncPlacer struct {
	s      *fleet.Spec
	pl     *Placement
	synced map[string]bool
	// host is the sync host so far; explicit when sync.host sets it;
	// several lists the hosts the synced clients are on when they disagree.
	host     string
	explicit bool
	several  []string
	// stays maps a synced client whose move was refused to the host that
	// still holds it.
	stays map[string]string
}

// newSyncPlacer takes the placement of the clients found or pinned (before
// the new ones are placed), chooses the sync host and refuses the moves of
// synced clients off it (unmove gives back the load a refused move took).
func newSyncPlacer(s *fleet.Spec, pl *Placement, unmove func(*fleet.Client)) *syncPlacer {
	sp := &syncPlacer{s: s, pl: pl, synced: map[string]bool{}, stays: map[string]string{}}
	if s.Sync == nil {
		return sp
	}
	for _, c := range s.SyncedClients() {
		sp.synced[c.Name] = true
	}
	if s.Sync.Host != "" {
		sp.host, sp.explicit = s.Sync.Host, true
	} else {
		// Where each synced client is now: a moving one still on its old
		// host, where the nodes mount its volume.
		for _, c := range s.SyncedClients() {
			h := pl.Host[c.Name]
			if from := pl.Moves[c.Name]; from != "" {
				h = from
			}
			if h != "" && !containsStr(sp.several, h) {
				sp.several = append(sp.several, h)
			}
		}
		if len(sp.several) == 1 {
			sp.host, sp.several = sp.several[0], nil
		}
	}
	for _, c := range s.SyncedClients() {
		from := pl.Moves[c.Name]
		if from == "" || sp.host == "" || pl.Host[c.Name] == sp.host {
			continue
		}
		unmove(c)
		delete(pl.Host, c.Name)
		delete(pl.Moves, c.Name)
		pl.Blocked[c.Name] = Problem{Client: c.Name, Host: c.Host, Message: fmt.Sprintf(
			"client is synced and the sync nodes run on host %s (%s), which must hold its volume: it is not moved to host %s; leave it out of sync.clients first, or set sync.host to %s with every synced client there",
			sp.host, sp.why(), c.Host, c.Host)}
		sp.stays[c.Name] = from
	}
	return sp
}

func (sp *syncPlacer) why() string {
	if sp.explicit {
		return "sync.host"
	}
	return "the host of the synced clients"
}

// steer returns the host a new unpinned client must go to: the sync host
// for a synced one (ok); ok is false when the usual rule applies.
func (sp *syncPlacer) steer(c *fleet.Client) (string, bool) {
	if !sp.synced[c.Name] || (sp.host == "" && len(sp.several) == 0) {
		return "", false
	}
	return sp.host, true
}

func (sp *syncPlacer) noRoom(h string) string {
	if h == "" {
		return "client is synced, but the synced clients are on several hosts (" + strings.Join(sp.several, ", ") + "): set sync.host to the one it goes to"
	}
	return fmt.Sprintf("client is synced and goes to the sync host %s (%s), which has no room for it (capacity.maxClients or capacity.memory)", h, sp.why())
}

// placed records the host the usual rule gave a new client: the first
// synced one fixes the sync host when nothing else did.
func (sp *syncPlacer) placed(c *fleet.Client, host string) {
	if sp.synced[c.Name] && sp.host == "" {
		sp.host = host
	}
}

// finish sets pl.Sync: the sync host, or why the nodes cannot be planned
// (synced clients on other hosts, or whose host is not known).
func (sp *syncPlacer) finish() {
	s, pl := sp.s, sp.pl
	if s.Sync == nil {
		return
	}
	if len(sp.several) > 0 {
		var on []string
		for _, c := range s.SyncedClients() {
			if h := pl.Host[c.Name]; h != "" {
				on = append(on, c.Name+" on "+h)
			}
		}
		pl.Sync.Blocked = &Problem{Object: "sync", Message: fmt.Sprintf(
			"sync: the nodes mount every synced client's volume, but the synced clients run on several hosts (%s): set sync.host to one of them, and pin the other synced clients to it (clients[].host) or leave them out of sync.clients; no sync node is changed",
			strings.Join(on, ", "))}
		return
	}
	host := sp.host
	if host == "" {
		host = s.LockHostName() // no synced client: the nodes mount nothing
	}
	var wrong, unknown []string
	for _, c := range s.SyncedClients() {
		h := pl.Host[c.Name]
		if from := sp.stays[c.Name]; from != "" {
			h = from
		}
		switch {
		case pl.Unknown[c.Name] != "":
			unknown = append(unknown, c.Name)
		case h == "":
			unknown = append(unknown, c.Name)
		case h != host:
			wrong = append(wrong, c.Name+" on "+h)
		}
	}
	switch {
	case len(wrong) > 0:
		pl.Sync.Blocked = &Problem{Object: "sync", Host: host, Message: fmt.Sprintf(
			"sync: the nodes run on host %s (%s) and mount every synced client's volume, but synced clients are placed on other hosts (%s): pin them to %s (clients[].host) or leave them out of sync.clients; no sync node is changed",
			host, sp.why(), strings.Join(wrong, ", "), host)}
	case len(unknown) > 0:
		pl.Sync.Blocked = &Problem{Object: "sync", Host: host, Message: fmt.Sprintf(
			"sync: the host of synced clients %s is not known (see their conflicts): no sync node is changed until it is", strings.Join(unknown, ", "))}
	}
	pl.Sync.Host = host
}

// hostSync is what one host's Build does about the sync nodes of a fleet
// with hosts: plan them (sync host), remove the ones it holds (other
// hosts, or every host once sync: is deleted), or leave them alone.
type hostSync struct {
	// host is the sync host ("" without sync).
	host string
	// leave: the nodes are planned on no host (Placement.Sync.Blocked).
	leave bool
	// spec is the whole fleet's: the nodes mount every synced client's
	// volume, also of one the host's Build does not plan (a refused move).
	spec *fleet.Spec
}

// syncOn is the sync share of host's Build.
func syncOn(s *fleet.Spec, pl Placement) *hostSync {
	if s.Sync == nil {
		return &hostSync{spec: s}
	}
	return &hostSync{host: pl.Sync.Host, leave: pl.Sync.Blocked != nil || pl.Sync.Host == "", spec: s}
}

// syncSpec is the spec the sync nodes are rendered from: with hosts the
// whole fleet's, not the host's share.
func (b *builder) syncSpec() *fleet.Spec {
	if b.hostSync != nil && b.spec.Sync != nil {
		return b.hostSync.spec
	}
	return b.spec
}

// syncAfterMoves finishes the sync of a fleet with hosts once every host is
// planned and the moves are made: why the nodes are not planned (a
// conflict), and the nodes' wait for the synced clients' volumes to exist
// on the sync host (a node started first would make an empty one).
//
// Nodes removed by another host than the sync host get the host in their
// ids ("sync-node.NAME#HOST"), as the same node may be created on the sync
// host; its creation waits for them, as hosts on one machine share ports.
func syncAfterMoves(out *Plan, s *fleet.Spec, pl Placement, st *observe.State) {
	var removed []string
	for i := range out.Actions {
		a := &out.Actions[i]
		if a.Kind == KindRemoveContainer && strings.HasPrefix(a.ID, "sync-node.") && a.Host != pl.Sync.Host {
			a.ID += "#" + a.Host
			removed = append(removed, a.ID)
		}
	}
	if s.Sync == nil {
		return
	}
	if p := pl.Sync.Blocked; p != nil {
		out.Conflicts = append(out.Conflicts, *p)
		return
	}
	for i := range st.Hosts {
		if hs := &st.Hosts[i]; hs.Host == pl.Sync.Host && !hs.Reachable() {
			out.Warnings = append(out.Warnings, "sync: the sync nodes' host "+hs.Host+" cannot be reached: no sync node is planned")
		}
	}
	// A synced client's volume that a held or stopped move leaves off the
	// sync host: the nodes are not created or replaced there (sync.go), and
	// those of other hosts are not removed.
	have := map[string]bool{}
	for i := range st.Hosts {
		if hs := &st.Hosts[i]; hs.Host == pl.Sync.Host && hs.State != nil {
			for _, v := range hs.State.Volumes {
				have[v.Name] = true
			}
		}
	}
	if miss := missingSyncVolumes(s, func(v string) bool { return have[v] }, out.Actions, pl.Sync.Host); len(miss) > 0 {
		var nodes, rest []Action
		for _, a := range out.Actions {
			if a.Host == pl.Sync.Host && a.Container != nil && strings.HasPrefix(a.ID, "sync-node.") {
				nodes = append(nodes, a)
			} else {
				rest = append(rest, a)
			}
		}
		if kept, p := withoutNewNodes(nodes, miss); p != nil {
			p.Host = pl.Sync.Host
			out.Conflicts = append(out.Conflicts, *p)
			// The nodes of another host (sync.host moved) keep running
			// until the ones replacing them can be created.
			rest = slices.DeleteFunc(rest, func(a Action) bool {
				return slices.Contains(removed, a.ID) ||
					(len(kept) == 0 && a.Host == pl.Sync.Host && (a.ID == "sync.provision" || a.ID == "sync.canary-volume"))
			})
			removed = nil
			out.Actions = append(rest, kept...)
		}
	}
	synced := map[string]bool{}
	for _, c := range s.SyncedClients() {
		synced[c.Name] = true
	}
	var volumes []string
	for i := range out.Actions {
		a := &out.Actions[i]
		if a.Host == pl.Sync.Host && synced[a.Client] && (a.Kind == KindMoveClient || a.Kind == KindCreateVolume) {
			volumes = append(volumes, a.ID)
		}
	}
	for i := range out.Actions {
		a := &out.Actions[i]
		if a.Host == pl.Sync.Host && a.Container != nil && strings.HasPrefix(a.ID, "sync-node.") {
			a.DependsOn = append(append(a.DependsOn, volumes...), removed...)
		}
	}
}
