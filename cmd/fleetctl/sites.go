package main

import (
	"strings"

	"github.com/quantabase/fleetctl/pkg/plan"
)

// siteDrift says what the plan would do to a client's nginx site ("" when nothing).
func siteDrift(p *plan.Plan, client string) string {
	a := p.Action(plan.SitesActionID)
	if a == nil {
		return ""
	}
	for _, ch := range a.Sites {
		if ch.Client == client {
			return "site " + ch.File + " " + string(ch.Op) + ": " + strings.Join(ch.Causes, "; ")
		}
	}
	return ""
}
