package docker_test

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/go-connections/nat"

	"github.com/quantabase/fleetctl/pkg/observe"
	"github.com/quantabase/fleetctl/pkg/resource"
)

func TestObserve(t *testing.T) {
	e := newEnv(t)
	img := e.image(t)
	ctx := e.ctx
	managedPort, otherPort := freePort(t), freePort(t)

	// A managed client: labelled volume, running container on 127.0.0.1.
	vol := e.fleet + "-acme-data"
	if err := e.c.EnsureVolume(ctx, resource.Volume{Name: vol, Labels: e.labels("acme")}); err != nil {
		t.Fatal(err)
	}
	managedName := e.fleet + "-acme"
	id, err := e.c.CreateContainer(ctx, resource.Container{
		Name: managedName, Image: img, Labels: e.labels("acme"),
		Volume: vol, MountPath: "/data",
		BindAddress: "127.0.0.1", HostPort: managedPort, ContainerPort: 3000,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.c.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}

	// Old-script leftovers: an unlabelled volume the fleet wants, one it
	// does not, and an unmanaged container holding a port, with a healthcheck.
	oldVol, strayVol := e.fleet+"-old-data", e.fleet+"-stray"
	for _, n := range []string{oldVol, strayVol} {
		if _, err := e.raw.VolumeCreate(ctx, volume.CreateOptions{Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	otherName := e.fleet + "-unmanaged"
	resp, err := e.raw.ContainerCreate(ctx,
		&container.Config{Image: img, ExposedPorts: nat.PortSet{"3000/tcp": {}},
			Healthcheck: &container.HealthConfig{Test: []string{"CMD", "/sleeper", "-probe"},
				Interval: 300 * time.Millisecond, Retries: 3}},
		&container.HostConfig{PortBindings: nat.PortMap{"3000/tcp": {{HostIP: "127.0.0.1", HostPort: strconv.Itoa(otherPort)}}}},
		nil, nil, otherName)
	if err != nil {
		t.Fatal(err)
	}
	e.unmanaged(t, resp.ID)

	before := e.c.Calls()
	st, err := e.c.Observe(ctx, e.fleet, []string{oldVol, e.fleet + "-missing"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := e.c.Calls() - before; n != 3 {
		t.Errorf("Observe made %d API calls, want 3", n)
	}
	if st.Fleet != e.fleet {
		t.Errorf("Fleet = %q", st.Fleet)
	}
	if !sort.SliceIsSorted(st.Containers, func(i, j int) bool { return st.Containers[i].Name < st.Containers[j].Name }) {
		t.Error("containers not sorted by name")
	}

	m := findContainer(t, st, managedName)
	if m.ID != id || m.State != "running" || !m.Running() {
		t.Errorf("managed container = %+v", m)
	}
	if !observe.Managed(m.Labels, e.fleet) || m.Labels[observe.LabelClient] != "acme" {
		t.Errorf("managed labels = %v", m.Labels)
	}
	if want := []observe.PortBinding{{HostIP: "127.0.0.1", HostPort: managedPort}}; !slices.Equal(m.Ports, want) {
		t.Errorf("managed ports = %v, want %v", m.Ports, want)
	}
	if m.Image != img || m.ImageID == "" || st.Images[img] != m.ImageID {
		t.Errorf("image %q id %q, images[%s] = %q", m.Image, m.ImageID, img, st.Images[img])
	}
	if m.Created < time.Now().Add(-time.Hour).Unix() {
		t.Errorf("created = %d", m.Created)
	}

	// The fleet's images asked for by name: one inspect per distinct
	// reference instead of the image list, and the same answer for them; a
	// missing image is absent, not an error.
	missing := "fleetctl/no-such-image:" + e.fleet
	before = e.c.Calls()
	byName, err := e.c.Observe(ctx, e.fleet, nil, []string{img, missing, img})
	if err != nil {
		t.Fatal(err)
	}
	if n := e.c.Calls() - before; n != 4 {
		t.Errorf("Observe with two distinct images made %d API calls, want 4", n)
	}
	if byName.Images[img] != st.Images[img] {
		t.Errorf("images[%s] by name = %q, from the list %q", img, byName.Images[img], st.Images[img])
	}
	if _, ok := byName.Images[missing]; ok {
		t.Errorf("a missing image is listed: %v", byName.Images)
	}

	o := findContainer(t, st, otherName)
	if o.State != "created" || observe.Managed(o.Labels, e.fleet) {
		t.Errorf("unmanaged container = %+v", o)
	}
	var vols []string
	for _, v := range st.Volumes {
		if strings.HasPrefix(v.Name, e.fleet+"-") {
			vols = append(vols, v.Name)
		}
	}
	if want := []string{e.fleet + "-acme-data", oldVol}; !slices.Equal(vols, want) {
		t.Errorf("volumes = %v, want %v (sorted; stray volume excluded)", vols, want)
	}

	// Start the unmanaged one: its port now collides visibly, and its health
	// shows up parsed from the status text.
	if err := e.c.StartContainer(ctx, resp.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "unmanaged container healthy", func() bool {
		st, err := e.c.Observe(ctx, e.fleet, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		o = findContainer(t, st, otherName)
		return o.Health == "healthy"
	})
	if want := []observe.PortBinding{{HostIP: "127.0.0.1", HostPort: otherPort}}; !slices.Equal(o.Ports, want) {
		t.Errorf("unmanaged ports = %v, want %v", o.Ports, want)
	}
	if m := findContainer(t, st, managedName); m.Health != "" {
		t.Errorf("container without healthcheck has health %q", m.Health)
	}
}

func findContainer(t *testing.T, st *observe.State, name string) observe.Container {
	t.Helper()
	for _, c := range st.Containers {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("container %s not observed", name)
	return observe.Container{}
}

// BenchmarkObserve measures one snapshot with 20 of the fleet's containers
// on the host (created, not started: listing cost does not depend on it).
func BenchmarkObserve(b *testing.B) {
	e := newEnv(b)
	img := e.image(b)
	for i := 0; i < 20; i++ {
		name := e.fleet + "-c" + strconv.Itoa(i)
		if _, err := e.c.CreateContainer(e.ctx, resource.Container{Name: name, Image: img, Labels: e.labels(name)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	before := e.c.Calls()
	for i := 0; i < b.N; i++ {
		if _, err := e.c.Observe(e.ctx, e.fleet, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(e.c.Calls()-before)/float64(b.N), "calls/op")
}
