package reconcile

import (
	"strings"
	"testing"

	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/observe"
	"github.com/quantabase/fleetctl/pkg/plan"
	"github.com/quantabase/fleetctl/pkg/redact"
)

// The pass's masker knows the resolved secrets and what the planner derived
// from them: the seed never reaches a container, the key derived from it does.
func TestMaskerKnowsDerivedSecrets(t *testing.T) {
	spec, err := fleet.Parse([]byte("apiVersion: fleetctl/v1\nfleet: m\nsecretKeySeed: ${env:SEED}\nclients:\n"+
		"  - name: a\n    port: 8081\n    env: {API_KEY: \"${env:KEY}\"}\n"), "f.yaml")
	if err != nil {
		t.Fatal(err)
	}
	secrets := fleet.Secrets{"${env:SEED}": "seed-Distinct-1", "${env:KEY}": "key-Distinct-2"}
	p := plan.Build(spec, secrets, &observe.State{Fleet: "m"}, plan.Options{})
	var derived string
	for _, a := range p.Actions {
		if a.Container != nil {
			for _, e := range a.Container.Env {
				if e.Name == "WEBUI_SECRET_KEY" {
					derived = e.Value
				}
			}
		}
	}
	if derived == "" {
		t.Fatal("no WEBUI_SECRET_KEY in the plan")
	}
	m := masker(secrets, p)
	for _, v := range []string{"seed-Distinct-1", "key-Distinct-2", derived} {
		if got := m.String("x " + v + " y"); got != "x "+redact.Sensitive+" y" {
			t.Errorf("%q not masked: %q", v, got)
		}
	}
	if strings.Contains(m.String("WEBUI_SECRET_KEY="+derived), derived) {
		t.Error("derived key leaks")
	}
}
