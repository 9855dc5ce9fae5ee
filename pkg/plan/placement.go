package plan

import (
	"fmt"
	"sort"
	"strings"

	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/observe"
)

// Placement says on which host each client of a fleet with hosts runs.
//
// The rule, applied in this order:
//  1. A pinned client (clients[].host) runs on its host. When its objects
//     are all on one other host, it is moved there explicitly (a
//     move-client action, move.go); volumes kept on the old host after a
//     move do not count.
//  2. An unpinned client whose objects exist on one host stays there: it is
//     never moved implicitly.
//  3. An unpinned client found nowhere is new. While any host cannot be
//     observed it is not placed (it may exist there). Otherwise it goes to
//     the host with the fewest clients that has room for it (maxClients;
//     memory against the sum of its clients' resources.memory), ties broken
//     by host name. New clients are placed in fleet.yaml order, each seeing
//     the ones placed before it.
//  4. With sync, a new unpinned synced client goes to the sync host (its
//     nodes mount every synced client's volume), not the least loaded one;
//     a pinned synced client is never moved off it (sync_hosts.go).
//
// A client that cannot be placed (objects on several hosts, a pinned host
// that differs from where it runs, no room) is blocked by a conflict; one
// whose host cannot be observed is Unknown. Neither gets any action.
type Placement struct {
	// Host maps each placed client to its host.
	Host map[string]string
	// Unknown maps a client to the unreachable host that may hold it.
	Unknown map[string]string
	// Blocked maps a client to why it is not placed (a conflict).
	Blocked map[string]Problem
	// Moves maps a client whose clients[].host changed to the host that
	// holds its objects now: it is placed on its new host and moved there
	// (move.go).
	Moves map[string]string
	// Sync is where the sync nodes run (sync_hosts.go); zero without sync.
	Sync SyncPlacement
}

// Place computes the placement of s's clients over the observed hosts
// (in fleet.yaml order; an unreachable host has a nil State). It is pure.
func Place(s *fleet.Spec, hosts []observe.HostState) Placement {
	pl := Placement{Host: map[string]string{}, Unknown: map[string]string{}, Blocked: map[string]Problem{}, Moves: map[string]string{}}
	reachable := map[string]bool{}
	var down []string
	for i := range hosts {
		if hosts[i].Reachable() {
			reachable[hosts[i].Host] = true
		} else {
			down = append(down, hosts[i].Host)
		}
	}
	found := observedHosts(s.Fleet, hosts)
	ctrOn := containerHosts(s.Fleet, hosts)
	load := map[string]int{}
	mem := map[string]int64{}
	take := func(c *fleet.Client, h string) {
		pl.Host[c.Name] = h
		load[h]++
		mem[h] += clientMemory(c)
	}
	unmove := func(c *fleet.Client) { load[c.Host]--; mem[c.Host] -= clientMemory(c) }
	var fresh []*fleet.Client
	for i := range s.Clients {
		c := &s.Clients[i]
		on := found[c.Name]
		switch {
		case c.Host != "" && len(on) > 0 && (len(on) > 1 || on[0] != c.Host):
			from, ok := movePlacement(c.Host, on, ctrOn[c.Name]) // move.go
			switch {
			case ok && from != "" && !reachable[c.Host]:
				pl.Unknown[c.Name] = c.Host
				load[c.Host]++
			case ok:
				if from != "" {
					pl.Moves[c.Name] = from
				}
				take(c, c.Host)
			default:
				pl.Blocked[c.Name] = Problem{Client: c.Name, Host: c.Host, Message: fmt.Sprintf(
					"client is pinned to host %s but its objects are on hosts %s (a move left unfinished?): remove the copy that is not the client's data, or set host: to the host that holds it",
					c.Host, strings.Join(on, ", "))}
			}
		case c.Host != "" && !reachable[c.Host]:
			pl.Unknown[c.Name] = c.Host
			load[c.Host]++
		case c.Host != "" && len(on) == 0 && len(down) > 0:
			// Pinned, but none of its objects on a reachable host: its data
			// may be on the host that cannot be seen (host: changed while
			// that host was down), and creating it here would start it
			// empty. Unknown until every host answers, like an unpinned one.
			pl.Unknown[c.Name] = down[0]
		case c.Host != "":
			take(c, c.Host)
		case len(on) > 1:
			pl.Blocked[c.Name] = Problem{Client: c.Name, Message: fmt.Sprintf(
				"client has objects on hosts %s; pin it with host: to the one that holds its data", strings.Join(on, ", "))}
		case len(on) == 1:
			take(c, on[0])
		case len(down) > 0:
			pl.Unknown[c.Name] = down[0]
		default:
			fresh = append(fresh, c)
		}
	}
	names := make([]string, 0, len(s.Hosts))
	for i := range s.Hosts {
		names = append(names, s.Hosts[i].Name)
	}
	sort.Strings(names)
	sp := newSyncPlacer(s, &pl, unmove) // sync_hosts.go
	for _, c := range fresh {
		if h, ok := sp.steer(c); ok {
			if h == "" || !reachable[h] || !hasRoom(s.Host(h), load[h], mem[h], clientMemory(c)) {
				pl.Blocked[c.Name] = Problem{Client: c.Name, Message: sp.noRoom(h)}
				continue
			}
			take(c, h)
			continue
		}
		best := ""
		for _, h := range names {
			if !reachable[h] || !hasRoom(s.Host(h), load[h], mem[h], clientMemory(c)) {
				continue
			}
			if best == "" || load[h] < load[best] {
				best = h
			}
		}
		if best == "" {
			pl.Blocked[c.Name] = Problem{Client: c.Name, Message: "no host has room for the client (every host is at its capacity.maxClients or capacity.memory)"}
			continue
		}
		take(c, best)
		sp.placed(c, best)
	}
	sp.finish()
	return pl
}

// observedHosts maps each client to the hosts holding a managed container or
// volume of it, in the order of hosts.
func observedHosts(fleetName string, hosts []observe.HostState) map[string][]string {
	out := map[string][]string{}
	add := func(client, host string) {
		if client == "" {
			return
		}
		if on := out[client]; len(on) == 0 || on[len(on)-1] != host {
			out[client] = append(on, host)
		}
	}
	for i := range hosts {
		st := hosts[i].State
		if st == nil {
			continue
		}
		for j := range st.Containers {
			if l := st.Containers[j].Labels; observe.Managed(l, fleetName) {
				add(l[observe.LabelClient], hosts[i].Host)
			}
		}
		for j := range st.Volumes {
			if l := st.Volumes[j].Labels; observe.Managed(l, fleetName) {
				add(l[observe.LabelClient], hosts[i].Host)
			}
		}
	}
	return out
}

func hasRoom(h *fleet.Host, n int, used, need int64) bool {
	if h == nil || h.Capacity == nil {
		return true
	}
	if h.Capacity.MaxClients > 0 && n >= h.Capacity.MaxClients {
		return false
	}
	limit := h.Capacity.MemoryBytes()
	return limit == 0 || used+need <= limit
}

func clientMemory(c *fleet.Client) int64 {
	b, _ := c.Resources.MemoryBytes()
	return b
}
