package docker

import (
	"os"
	"slices"
	"testing"

	"github.com/docker/docker/api/types/container"

	"github.com/quantabase/fleetctl/pkg/observe"
)

// Pure helpers: these run without a Docker engine.

func TestProbeHost(t *testing.T) {
	for _, tc := range []struct{ dockerHost, want string }{
		{"", "127.0.0.1"},
		{"unix:///var/run/docker.sock", "127.0.0.1"},
		{"tcp://10.1.2.3:2376", "10.1.2.3"},
		{"tcp://docker.internal:2375", "docker.internal"},
		{"ssh://deploy@web1.example:2222", "web1.example"},
		{"tcp://[fd00::1]:2376", "fd00::1"},
	} {
		got, err := probeHost(tc.dockerHost)
		if err != nil || got != tc.want {
			t.Errorf("probeHost(%q) = %q, %v; want %q", tc.dockerHost, got, err, tc.want)
		}
	}
	if _, err := probeHost("tcp://"); err == nil {
		t.Error("probeHost(tcp://) accepted an empty host")
	}
}

func TestHealthOf(t *testing.T) {
	for status, want := range map[string]string{
		"Up 3 minutes (healthy)":         "healthy",
		"Up 10 seconds (unhealthy)":      "unhealthy",
		"Up 1 second (health: starting)": "starting",
		"Up 2 hours":                     "",
		"Exited (0) 5 seconds ago":       "",
		"Created":                        "",
	} {
		if got := healthOf(status); got != want {
			t.Errorf("healthOf(%q) = %q, want %q", status, got, want)
		}
	}
}

func TestPortsOf(t *testing.T) {
	got := portsOf([]container.Port{
		{IP: "::", PrivatePort: 3000, PublicPort: 8081, Type: "tcp"},
		{IP: "0.0.0.0", PrivatePort: 3000, PublicPort: 8081, Type: "tcp"},
		{IP: "0.0.0.0", PrivatePort: 3000, PublicPort: 8081, Type: "tcp"},
		{PrivatePort: 9000, Type: "tcp"}, // exposed, not published
		{IP: "127.0.0.1", PrivatePort: 80, PublicPort: 8080, Type: "tcp"},
	})
	want := []observe.PortBinding{{HostIP: "127.0.0.1", HostPort: 8080}, {HostIP: "0.0.0.0", HostPort: 8081}, {HostIP: "::", HostPort: 8081}}
	if !slices.Equal(got, want) {
		t.Errorf("portsOf = %v, want %v", got, want)
	}
}

func TestPrimaryName(t *testing.T) {
	for _, tc := range []struct {
		names []string
		want  string
	}{
		{[]string{"/openwebui-acme"}, "openwebui-acme"},
		{[]string{"/web/db", "/db"}, "db"},
		{nil, ""},
	} {
		if got := primaryName(tc.names); got != tc.want {
			t.Errorf("primaryName(%v) = %q, want %q", tc.names, got, tc.want)
		}
	}
}

func TestRestartPolicy(t *testing.T) {
	for _, name := range []string{"", "no", "always", "unless-stopped", "on-failure"} {
		if _, err := restartPolicy(name); err != nil {
			t.Errorf("restartPolicy(%q): %v", name, err)
		}
	}
	if _, err := restartPolicy("sometimes"); err == nil {
		t.Error("restartPolicy(sometimes) accepted")
	}
}

func TestStaleOnlyJudgesThisHost(t *testing.T) {
	host, _ := os.Hostname()
	me, here := os.Getpid(), MachineID()
	if here == "" {
		t.Fatal("machineID: /proc gave no boot id or pid namespace")
	}
	if stale(LockInfo{Hostname: host, PID: me, pidStart: procStart(me), machine: here}) {
		t.Error("our own live process judged stale")
	}
	if stale(LockInfo{Hostname: "elsewhere.example", PID: 1 << 30, machine: here}) {
		t.Error("a holder on another host judged stale")
	}
	if !stale(LockInfo{Hostname: host, PID: 1 << 30, machine: here}) {
		t.Error("a pid that cannot exist not judged stale")
	}
	// Same hostname, other PID namespace (a container with the host's name):
	// its pid means nothing here.
	if stale(LockInfo{Hostname: host, PID: 1 << 30, machine: here + "-other-ns"}) {
		t.Error("a holder in another pid namespace judged stale")
	}
	if stale(LockInfo{Hostname: host, PID: 1 << 30}) {
		t.Error("a holder without a machine id judged stale")
	}
}
