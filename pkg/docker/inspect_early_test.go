package docker_test

import (
	"testing"

	"github.com/quantabase/fleetctl/pkg/observe"
	"github.com/quantabase/fleetctl/pkg/resource"
)

// Inspect calls started by name before the list: an answer is used only
// for the container the list shows under that name. One recreated in
// between (same name, another ID) is inspected again by ID, and a name
// with no container costs nothing afterwards.
func TestInspectEarly(t *testing.T) {
	e := newEnv(t)
	img := e.image(t)
	keep, swap := e.fleet+"-keep", e.fleet+"-swap"
	gen := map[string]string{}
	create := func(name, g string) string {
		t.Helper()
		id, err := e.c.CreateContainer(e.ctx, resource.Container{Name: name, Image: img, Labels: e.labels(name),
			Env: []resource.EnvVar{{Name: "GEN", Value: g}}})
		gen[name] = g
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	keepID, oldSwap := create(keep, "1"), create(swap, "1")

	in := e.c.InspectEarly(e.ctx, e.fleet, []string{keep, swap, e.fleet + "-absent"}, true)
	// Recreated while the early call is made or answered: whichever it
	// saw, the list shows the new one, and so must the result.
	if err := e.c.RemoveContainer(e.ctx, oldSwap); err != nil {
		t.Fatal(err)
	}
	newSwap := create(swap, "2")

	st, err := e.c.Observe(e.ctx, e.fleet, nil, []string{})
	if err != nil {
		t.Fatal(err)
	}
	var cs []*observe.Container
	for i := range st.Containers {
		if n := st.Containers[i].Name; n == keep || n == swap {
			cs = append(cs, &st.Containers[i])
		}
	}
	if len(cs) != 2 {
		t.Fatalf("listed %d of the 2 containers", len(cs))
	}
	if missed := in.Into(e.ctx, cs); len(missed) != 0 {
		t.Fatalf("missed %v", missed)
	}
	for _, c := range cs {
		if c.Runtime == nil || c.Runtime.Config == nil || c.Runtime.Status != "created" {
			t.Fatalf("%s: runtime %+v", c.Name, c.Runtime)
		}
		want := map[string]string{keep: keepID, swap: newSwap}[c.Name]
		if c.ID != want {
			t.Errorf("%s: listed ID %s, want %s", c.Name, c.ID, want)
		}
		if got := c.Runtime.Config.Env["GEN"]; got != gen[c.Name] {
			t.Errorf("%s: env GEN=%q, want %q (the listed container's)", c.Name, got, gen[c.Name])
		}
	}
}
