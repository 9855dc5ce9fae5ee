package reconcile

import (
	"github.com/quantabase/fleetctl/pkg/apply"
	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/nginx"
)

// Sites is the nginx adapter for spec's proxy section (nil without one).
func Sites(spec *fleet.Spec) *nginx.Sites {
	p := spec.Proxy
	if p == nil {
		return nil
	}
	return &nginx.Sites{Dir: p.SitesDir, Test: p.Test, Reload: p.Reload, Fleet: spec.Fleet, ProbeHost: p.ProbeHost, ErrorLog: p.ErrorLog}
}

// The nginx adapter is the executor's Proxy, structurally.
var _ apply.Proxy = (*nginx.Sites)(nil)
