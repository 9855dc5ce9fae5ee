package plan

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/observe"
	"github.com/quantabase/fleetctl/pkg/resource"
)

// KindSyncSites writes, removes and replaces nginx site files as one batch:
// nginx is tested and reloaded once for the whole batch, so the file changes
// travel together in Action.Sites instead of being actions of their own.
const KindSyncSites Kind = "sync-sites"

// SitesActionID is the ID of the plan's single sync-sites action.
const SitesActionID = "sites"

// DesiredSite is the server block fleetctl wants for c (the spec must have a
// proxy and c a domain).
func DesiredSite(s *fleet.Spec, c *fleet.Client) resource.Site {
	p := s.Proxy
	site := resource.Site{
		Fleet: s.Fleet, Client: c.Name, Domain: c.Domain,
		Upstream: upstream(p, c), HTTPPort: p.HTTPPort,
		ClientMaxBodySize: p.ClientMaxBodySize,
		ReadTimeout:       p.ReadTimeout.Std(), ConnectTimeout: p.ConnectTimeout.Std(),
	}
	if p.TLS != fleet.TLSNone {
		site.TLS, site.HTTPSPort = true, p.HTTPSPort
		site.Certificate = strings.ReplaceAll(p.Certificate, "{domain}", c.Domain)
		site.CertificateKey = strings.ReplaceAll(p.CertificateKey, "{domain}", c.Domain)
	}
	return site
}

// upstream is where nginx reaches c: the proxy's upstreamHost, else the
// client's bind address, with a wildcard bind reached on loopback.
func upstream(p *fleet.Proxy, c *fleet.Client) string {
	host := p.UpstreamHost
	if host == "" {
		host = c.BindAddress
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || addr.IsUnspecified() {
		addr = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	return netip.AddrPortFrom(addr, uint16(c.Port)).String()
}

// siteConflicts reports, before any client is planned, the clients whose
// site file name is taken by a file fleetctl does not own (it is never
// overwritten); like any conflict it blocks the whole client.
func (b *builder) siteConflicts() map[string]bool {
	sites := b.st.Sites
	if b.spec.Proxy == nil || sites == nil {
		return nil
	}
	blocked := map[string]bool{}
	for i := range b.spec.Clients {
		c := &b.spec.Clients[i]
		if c.Domain == "" || !b.targeted(c.Name) {
			continue
		}
		name := resource.SiteFileName(c.Name)
		if site := DesiredSite(b.spec, c); site.TLS {
			if missing := firstMissing(sites, site.Certificate, site.CertificateKey); missing != "" {
				// nginx -t fails for the whole directory on one missing
				// file: block this client alone, not every site change.
				b.conflict(c.Name, name, "TLS file %s does not exist; its site is not written until it does (nginx -t would fail for every site)", missing)
				blocked[c.Name] = true
				continue
			}
		}
		f := sites.File(name)
		if f == nil || (f.Managed && f.Fleet == b.spec.Fleet && f.Client == c.Name) {
			continue
		}
		owner := "is not managed by fleetctl"
		if f.Managed {
			owner = fmt.Sprintf("is managed for client %s of fleet %q", f.Client, f.Fleet)
		}
		b.conflict(c.Name, name, "nginx site file %s in %s %s; it is left alone: rename or remove it",
			name, sites.Dir, owner)
		blocked[c.Name] = true
	}
	return blocked
}

func firstMissing(s *observe.SitesState, paths ...string) string {
	for _, p := range paths {
		if s.IsMissing(p) {
			return p
		}
	}
	return ""
}

// sites adds the sync-sites action: a file per targeted client with a domain,
// and the removal of this fleet's managed files no client wants any more.
// It runs after the container actions exist, so it can depend on them: a
// site goes live once its container is up.
func (b *builder) sites(blocked map[string]bool) {
	p := b.spec.Proxy
	if p == nil {
		return
	}
	if blocked == nil {
		blocked = map[string]bool{}
	}
	if b.st.Sites == nil {
		msg := "fleet.yaml has a proxy section but the nginx sites directory was not observed; site files are not planned"
		if b.st.SitesErr != "" {
			msg += " (" + b.st.SitesErr + ")"
		}
		b.plan.Warnings = append(b.plan.Warnings, msg)
		return
	}
	// A client blocked by any conflict (its name or port is someone
	// else's) gets no site either: it would route to a stranger.
	for _, c := range b.plan.Conflicts {
		blocked[c.Client] = true
	}
	ctrActions := map[string]*Action{}
	for i := range b.plan.Actions {
		if a := &b.plan.Actions[i]; a.Container != nil {
			ctrActions[a.ID] = a
		}
	}
	var changes []resource.SiteChange
	var deps []string
	wanted := map[string]bool{}
	for i := range b.spec.Clients {
		c := &b.spec.Clients[i]
		name := resource.SiteFileName(c.Name)
		wanted[name] = c.Domain != "" || !b.targeted(c.Name)
		if blocked[c.Name] || !b.targeted(c.Name) {
			continue
		}
		if c.Domain == "" {
			continue // reached on its local port only
		}
		want := DesiredSite(b.spec, c)
		ch := siteChange(b.st.Sites.File(name), want)
		if ch == nil {
			continue
		}
		ch.File, ch.Client = name, c.Name
		changes = append(changes, *ch)
		if a := ctrActions["container."+c.Name]; a != nil && a.Start {
			deps = append(deps, a.ID)
		}
	}
	changes = append(changes, b.staleSites(wanted)...)
	var causes []string
	if len(changes) > 0 {
		causes = append(causes, fmt.Sprintf("%d nginx site file(s) differ from fleet.yaml", len(changes)))
	}
	if b.st.Sites.Pending {
		causes = append(causes, "a previous apply wrote site files but nginx did not reload them: test and reload")
	}
	if len(causes) == 0 {
		return
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].File < changes[j].File })
	sort.Strings(deps)
	b.plan.Actions = append(b.plan.Actions, Action{
		ID: SitesActionID, Kind: KindSyncSites, Object: p.SitesDir,
		Causes:    causes,
		DependsOn: deps, Sites: changes,
		After: map[string]any{"sitesDir": p.SitesDir, "test": p.Test, "reload": p.Reload},
	})
}

// staleSites removes this fleet's managed files that no client wants: its
// client left fleet.yaml or lost its domain. Site files hold no data, so
// unlike containers they need no prune.
func (b *builder) staleSites(wanted map[string]bool) []resource.SiteChange {
	var out []resource.SiteChange
	for _, f := range b.st.Sites.Files {
		if !f.Managed || f.Fleet != b.spec.Fleet || wanted[f.Name] || !b.targeted(f.Client) {
			continue
		}
		if f.Actual != f.Hash || f.Name != resource.SiteFileName(f.Client) {
			// A hand-edited or copied file is someone's work: say so, never
			// delete it unattended.
			b.plan.Warnings = append(b.plan.Warnings, fmt.Sprintf("nginx site file %s carries fleet %q's header but was edited or copied by hand; it is left alone (remove it yourself if it is not wanted)", f.Name, f.Fleet))
			continue
		}
		cause := "client removed from fleet.yaml"
		if c := b.spec.Client(f.Client); c != nil && c.Domain == "" {
			cause = "client has no domain any more"
		} else if c != nil {
			cause = "not the client's site file (that is " + resource.SiteFileName(c.Name) + ")"
		}
		out = append(out, resource.SiteChange{Op: resource.SiteDelete, File: f.Name, Client: f.Client, Causes: []string{cause}})
	}
	return out
}

// siteChange compares an observed file with the desired site (nil: up to date).
func siteChange(f *observe.SiteFile, want resource.Site) *resource.SiteChange {
	ch := &resource.SiteChange{Op: resource.SiteUpdate, Site: &want}
	switch {
	case f == nil:
		ch.Op, ch.Causes = resource.SiteCreate, []string{"site file missing"}
		return ch
	case f.Actual != f.Hash:
		ch.Causes = append(ch.Causes, "hand-edited: hash mismatch")
	}
	switch {
	case f.Format != resource.SiteFormat:
		ch.Causes = append(ch.Causes, fmt.Sprintf("server block template changed (format %d -> %d)", f.Format, resource.SiteFormat))
	case f.Site == nil:
		ch.Causes = append(ch.Causes, "recorded site settings unreadable")
	default:
		ch.Causes = append(ch.Causes, diffSite(*f.Site, want)...)
	}
	if len(ch.Causes) == 0 {
		return nil
	}
	return ch
}

// diffSite names every setting that differs, with both values (none is secret).
func diffSite(before, after resource.Site) []string {
	var out []string
	field := func(name string, b, a any) {
		if bs, as := fmt.Sprint(b), fmt.Sprint(a); bs != as {
			out = append(out, fmt.Sprintf("%s changed: %q -> %q", name, bs, as))
		}
	}
	field("domain", before.Domain, after.Domain)
	field("upstream", before.Upstream, after.Upstream)
	field("tls", before.TLS, after.TLS)
	field("certificate", before.Certificate, after.Certificate)
	field("certificateKey", before.CertificateKey, after.CertificateKey)
	field("httpPort", before.HTTPPort, after.HTTPPort)
	field("httpsPort", before.HTTPSPort, after.HTTPSPort)
	field("clientMaxBodySize", before.ClientMaxBodySize, after.ClientMaxBodySize)
	field("readTimeout", before.ReadTimeout, after.ReadTimeout)
	field("connectTimeout", before.ConnectTimeout, after.ConnectTimeout)
	field("fleet", before.Fleet, after.Fleet)
	field("client", before.Client, after.Client)
	return out
}

// countSites adds the file changes of a sync-sites action to the summary.
func countSites(s *Summary, changes []resource.SiteChange) {
	if len(changes) == 0 {
		s.Change++ // test and reload only: nginx's configuration changes
	}
	for _, ch := range changes {
		switch ch.Op {
		case resource.SiteCreate:
			s.Add++
		case resource.SiteUpdate:
			s.Change++
		case resource.SiteDelete:
			s.Destroy++
		}
	}
}
