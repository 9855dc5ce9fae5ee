package apply

import (
	"context"
	"errors"

	"github.com/quantabase/fleetctl/pkg/plan"
	"github.com/quantabase/fleetctl/pkg/resource"
)

// Proxy is the reverse proxy as apply needs it. pkg/nginx implements it:
// ApplySites writes every change, tests the configuration and reloads once,
// and leaves every file as it was when the test fails.
type Proxy interface {
	ApplySites(ctx context.Context, changes []resource.SiteChange) error
}

// ErrNoProxy is returned for a sync-sites action when Options.Proxy is nil.
var ErrNoProxy = errors.New("the plan changes nginx sites but no proxy adapter was configured")

func (r *runner) syncSites(ctx context.Context, a *plan.Action) error {
	if r.opt.Proxy == nil {
		return ErrNoProxy
	}
	return r.opt.Proxy.ApplySites(ctx, a.Sites)
}
