package docker

import (
	"testing"

	"github.com/docker/docker/api/types/mount"

	"github.com/quantabase/fleetctl/pkg/resource"
)

// A host-network container (the monitoring deploy's) publishes nothing and
// mounts its host directories as given, read-only where asked.
func TestContainerConfigHostNetworkAndBinds(t *testing.T) {
	cfg, host, err := containerConfig(resource.Container{
		Name: "f-prometheus", Image: "img", NetworkMode: "host", BindAddress: "127.0.0.1", HostPort: 9090, ContainerPort: 9090,
		Mounts: []resource.Mount{{Volume: "f-prometheus-data", Target: "/prometheus"}},
		Binds:  []resource.Bind{{Source: "/srv/mon/prometheus", Target: "/etc/prometheus", ReadOnly: true}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !host.NetworkMode.IsHost() || len(host.PortBindings) != 0 || len(cfg.ExposedPorts) != 0 {
		t.Fatalf("network %q, bindings %v, exposed %v", host.NetworkMode, host.PortBindings, cfg.ExposedPorts)
	}
	want := []mount.Mount{
		{Type: mount.TypeVolume, Source: "f-prometheus-data", Target: "/prometheus"},
		{Type: mount.TypeBind, Source: "/srv/mon/prometheus", Target: "/etc/prometheus", ReadOnly: true},
	}
	if len(host.Mounts) != 2 || host.Mounts[0] != want[0] || host.Mounts[1] != want[1] {
		t.Fatalf("mounts %+v", host.Mounts)
	}
	if _, _, err := containerConfig(resource.Container{Name: "x", Binds: []resource.Bind{{Target: "/etc"}}}); err == nil {
		t.Fatal("a bind without a source was accepted")
	}
}
