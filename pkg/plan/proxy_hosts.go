package plan

import (
	"net/netip"

	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/observe"
)

// proxied is c as placed on host: a client with a domain on a host other
// than the proxy's is published on that host's address (where the proxy
// reaches it) instead of loopback, and its site's upstream follows. A
// bindAddress that is not loopback is the operator's and is kept.
func proxied(s *fleet.Spec, c fleet.Client, host string) fleet.Client {
	return placedBind(s, c, host, false)
}

// placedBind rewrites c's bind address for its host: loopback becomes the
// host's address; for the site's upstream (site), so does a wildcard
// bind, which the proxy on another host reaches on that address too.
func placedBind(s *fleet.Spec, c fleet.Client, host string, site bool) fleet.Client {
	front := s.ProxyHostName()
	if front == "" || host == "" || host == front || c.Domain == "" {
		return c
	}
	a, err := netip.ParseAddr(c.BindAddress)
	if err != nil || !(a.IsLoopback() || (site && a.IsUnspecified())) {
		return c
	}
	if h := s.Host(host); h != nil && h.Address != "" {
		c.BindAddress = h.Address
	}
	return c
}

// sitesPlanner plans the proxy's site files of a fleet with hosts once,
// for every client, with the upstream its placement gives it. It reuses
// the one-engine builder's site rules (proxy.go) on a spec whose clients
// carry their placed bind address.
type sitesPlanner struct {
	b *builder
}

func newSitesPlanner(s *fleet.Spec, secrets fleet.Secrets, st *observe.State, opt Options, pl Placement) *sitesPlanner {
	if s.Proxy == nil {
		return &sitesPlanner{}
	}
	spec := *s
	spec.Clients = make([]fleet.Client, len(s.Clients))
	for i := range s.Clients {
		spec.Clients[i] = placedBind(s, s.Clients[i], pl.Host[s.Clients[i].Name], true)
	}
	b := &builder{spec: &spec, secrets: secrets, opt: opt,
		st:      &observe.State{Fleet: s.Fleet, Sites: st.Sites, SitesErr: st.SitesErr},
		plan:    &Plan{},
		targets: map[string]bool{}, excluded: map[string]bool{}}
	for _, t := range opt.Targets {
		b.targets[t] = true
	}
	for _, x := range opt.Exclude {
		b.excluded[x] = true
	}
	return &sitesPlanner{b: b}
}

// conflicts are the clients whose site cannot be written (a file fleetctl
// does not own, a missing certificate): like on one engine, they block the
// whole client.
func (sp *sitesPlanner) conflicts() []Problem {
	if sp.b == nil {
		return nil
	}
	sp.b.siteConflicts()
	out := sp.b.plan.Conflicts
	sp.b.plan.Conflicts = nil
	return out
}

// plan adds the one sync-sites action to out, after every host's actions
// are in it: it depends on the container actions of the clients it routes
// to, on whatever host they run. Clients with a conflict (unknown, blocked)
// keep their site as it is, and so do the clients in keep (a held move).
func (sp *sitesPlanner) plan(out *Plan, keep map[string]bool) {
	if sp.b == nil {
		return
	}
	sp.b.plan = out
	sp.b.sites(keep)
}
