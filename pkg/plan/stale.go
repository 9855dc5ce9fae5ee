package plan

import (
	"fmt"
	"strings"
)

// Stale says why a saved plan no longer matches a plan built now from the
// same options ("" when it still does): `apply plan.json` runs a saved plan
// only while the fleet, fleet.yaml, the observed host and the list of
// actions are what they were when the plan was made.
func Stale(saved, fresh *Plan) string {
	switch {
	case saved.Fleet != fresh.Fleet:
		return fmt.Sprintf("it is for fleet %q, not %q", saved.Fleet, fresh.Fleet)
	case saved.SpecDigest != fresh.SpecDigest:
		return "fleet.yaml changed since the plan was made"
	case saved.Fingerprint != fresh.Fingerprint:
		return "the Docker host changed since the plan was made"
	case actionKey(saved) != actionKey(fresh):
		// Same inputs that are hashed, other actions: a secret's value or
		// an image behind a tag changed.
		return "the actions differ (a secret or an image changed)"
	}
	return ""
}

func actionKey(p *Plan) string {
	var b strings.Builder
	for _, a := range p.Actions {
		fmt.Fprintf(&b, "%s=%s;", a.ID, a.Kind)
	}
	return b.String()
}
