package plan

import (
	"strings"
	"testing"
)

func TestStale(t *testing.T) {
	base := func() *Plan {
		return &Plan{Fleet: "f", SpecDigest: "s1", Fingerprint: "h1",
			Actions: []Action{{ID: "container.a", Kind: KindCreateContainer}}}
	}
	for _, tc := range []struct {
		name   string
		change func(p *Plan)
		want   string
	}{
		{"unchanged", func(*Plan) {}, ""},
		{"other fleet", func(p *Plan) { p.Fleet = "g" }, `for fleet "f", not "g"`},
		{"fleet.yaml edited", func(p *Plan) { p.SpecDigest = "s2" }, "fleet.yaml changed"},
		{"host changed", func(p *Plan) { p.Fingerprint = "h2" }, "Docker host changed"},
		{"other action kind", func(p *Plan) { p.Actions[0].Kind = KindRecreateContainer }, "actions differ"},
		{"one more action", func(p *Plan) { p.Actions = append(p.Actions, Action{ID: "image.x", Kind: KindPullImage}) }, "actions differ"},
		{"no action left", func(p *Plan) { p.Actions = nil }, "actions differ"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fresh := base()
			tc.change(fresh)
			got := Stale(base(), fresh)
			if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
				t.Errorf("Stale = %q, want %q", got, tc.want)
			}
		})
	}
}
