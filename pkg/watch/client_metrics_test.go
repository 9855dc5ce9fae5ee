package watch

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestClientMetrics(t *testing.T) {
	m := NewMetrics()
	m.setClients([]ClientStatus{
		{Name: "a", State: "running", Health: "healthy"},
		{Name: "b", State: "running", Health: "unhealthy (status 500)"},
		{Name: "c", State: "exited", Health: "-", Restarts: 4},
	})
	m.perClient.event("c", "die")
	m.perClient.event("c", "oom")
	m.perClient.event("c", "destroy")
	m.perClient.event("", "die")
	want := `
# HELP fleet_client_healthy 1 when the client's health probe passed in the last observation, else 0.
# TYPE fleet_client_healthy gauge
fleet_client_healthy{client="a"} 1
fleet_client_healthy{client="b"} 0
fleet_client_healthy{client="c"} 0
# HELP fleet_client_up 1 when the client's container is running (or restarting), 0 when it is absent, exited or blocked, as last observed.
# TYPE fleet_client_up gauge
fleet_client_up{client="a"} 1
fleet_client_up{client="b"} 1
fleet_client_up{client="c"} 0
# HELP fleet_client_restarts The engine's restart count of the client's current container, as last observed.
# TYPE fleet_client_restarts gauge
fleet_client_restarts{client="a"} 0
fleet_client_restarts{client="b"} 0
fleet_client_restarts{client="c"} 4
# HELP fleet_client_container_exits_total Exits (die and oom events) of the client's container seen by the daemon.
# TYPE fleet_client_container_exits_total counter
fleet_client_container_exits_total{client="c"} 2
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want),
		"fleet_client_up", "fleet_client_healthy", "fleet_client_restarts", "fleet_client_container_exits_total"); err != nil {
		t.Fatal(err)
	}
	// A client removed from fleet.yaml loses its gauges.
	m.setClients([]ClientStatus{{Name: "a", State: "running", Health: "healthy"}})
	if n := testutil.CollectAndCount(m.perClient.up); n != 1 {
		t.Errorf("fleet_client_up has %d series after a client was removed, want 1", n)
	}
}
