package plan

import (
	"fmt"
	"strings"
	"testing"

	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/observe"
)

// benchFleet parses a generated fleet.yaml of n clients with OAuth, so each
// client renders the full env Open WebUI gets.
func benchFleet(tb testing.TB, n int) (*fleet.Spec, fleet.Secrets) {
	tb.Helper()
	var b strings.Builder
	b.WriteString("apiVersion: fleetctl/v1\nfleet: bench\nsecretKeySeed: ${env:SEED}\ndefaults:\n  image: fleetctl/webui-standin:dev\n")
	b.WriteString("  oauth:\n    google:\n      clientID: bench.apps.googleusercontent.com\n      clientSecret: ${env:OAUTH}\n    allowedDomains: [example.com]\nclients:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  - name: client-%d\n    port: %d\n    domain: c%d.example.com\n    displayName: Client %d\n", i, 1024+i, i, i)
	}
	spec, err := fleet.Parse([]byte(b.String()), "bench.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	secrets, err := fleet.Resolver{LookupEnv: func(k string) (string, bool) { return "v-" + k, true }}.Resolve(spec)
	if err != nil {
		tb.Fatal(err)
	}
	return spec, secrets
}

// BenchmarkBuild plans a fleet that is already converged (the no-op plan
// every CI run and every watch tick makes) at growing sizes.
func BenchmarkBuild(b *testing.B) {
	for _, n := range []int{10, 100, 1000, 10000} {
		spec, secrets := benchFleet(b, n)
		st := appliedState(spec, secrets)
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if p := Build(spec, secrets, st, Options{}); !p.Empty() {
					b.Fatalf("not a no-op: %s", p.SummaryLine())
				}
			}
		})
	}
}

// BenchmarkBuildCold plans a fleet on an empty host (every client created).
func BenchmarkBuildCold(b *testing.B) {
	for _, n := range []int{10, 100, 1000, 10000} {
		spec, secrets := benchFleet(b, n)
		st := &observe.State{Fleet: spec.Fleet, Images: map[string]string{"fleetctl/webui-standin:dev": "x"}}
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				Build(spec, secrets, st, Options{})
			}
		})
	}
}

func TestFingerprintFollowsTheWorld(t *testing.T) {
	spec, secrets := benchFleet(t, 3)
	st := appliedState(spec, secrets)
	p1 := Build(spec, secrets, st, Options{})
	p2 := Build(spec, secrets, appliedState(spec, secrets), Options{})
	if p1.Fingerprint != p2.Fingerprint {
		t.Fatal("same world, different fingerprints")
	}
	st.Containers[1].State = "exited"
	if p3 := Build(spec, secrets, st, Options{}); p3.Fingerprint == p1.Fingerprint {
		t.Fatal("a stopped container did not change the fingerprint")
	}
}

func TestSecretKeysAreStableAndDistinct(t *testing.T) {
	spec, secrets := benchFleet(t, 2)
	a1 := renderClient(spec, &spec.Clients[0], secrets)
	a2 := renderClient(spec, &spec.Clients[0], secrets)
	b := renderClient(spec, &spec.Clients[1], secrets)
	key := func(d Desired) string {
		for _, e := range d.Container.Env {
			if e.Name == "WEBUI_SECRET_KEY" {
				if !e.Sensitive || len(e.Value) != 64 {
					t.Fatalf("WEBUI_SECRET_KEY not a sensitive 64-hex value")
				}
				return e.Value
			}
		}
		t.Fatal("no WEBUI_SECRET_KEY")
		return ""
	}
	if key(a1) != key(a2) || key(a1) == key(b) || a1.Hash != a2.Hash {
		t.Fatal("secret keys must be stable per client and distinct across clients")
	}
	if strings.Contains(a1.Container.Labels[LabelConfig], key(a1)) {
		t.Fatal("the config label carries the secret key")
	}
}

func TestTargetsAndExclude(t *testing.T) {
	spec, secrets := benchFleet(t, 3)
	st := &observe.State{Fleet: spec.Fleet, Images: map[string]string{"fleetctl/webui-standin:dev": "x"}}
	only := Build(spec, secrets, st, Options{Targets: []string{"client-1"}})
	if len(only.Actions) != 2 || only.Actions[1].Client != "client-1" {
		t.Fatalf("target: %d actions", len(only.Actions))
	}
	if ex := Build(spec, secrets, st, Options{Exclude: []string{"client-1"}}); len(ex.Actions) != 4 || ex.Action("container.client-1") != nil {
		t.Fatalf("exclude: %d actions", len(ex.Actions))
	}
}
