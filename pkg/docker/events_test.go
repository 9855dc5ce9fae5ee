package docker

import (
	"testing"

	"github.com/docker/docker/api/types/events"

	"github.com/quantabase/fleetctl/pkg/observe"
)

func TestEventOf(t *testing.T) {
	attrs := func(fleet, client string) map[string]string {
		a := map[string]string{"name": "openwebui-" + client, observe.LabelFleet: fleet}
		if client != "" {
			a[observe.LabelClient] = client
		}
		return a
	}
	tests := []struct {
		name   string
		msg    events.Message
		want   string // Action, "" when dropped
		client string
	}{
		{"die", events.Message{Type: events.ContainerEventType, Action: "die", Actor: events.Actor{ID: "x", Attributes: attrs("f", "a")}}, "die", "a"},
		{"destroy", events.Message{Type: events.ContainerEventType, Action: "destroy", Actor: events.Actor{Attributes: attrs("f", "a")}}, "destroy", "a"},
		{"oom", events.Message{Type: events.ContainerEventType, Action: "oom", Actor: events.Actor{Attributes: attrs("f", "a")}}, "oom", "a"},
		{"unhealthy", events.Message{Type: events.ContainerEventType, Action: "health_status: unhealthy", Actor: events.Actor{Attributes: attrs("f", "a")}}, "unhealthy", "a"},
		{"healthy is not drift", events.Message{Type: events.ContainerEventType, Action: "health_status: healthy", Actor: events.Actor{Attributes: attrs("f", "a")}}, "", ""},
		{"start is not drift", events.Message{Type: events.ContainerEventType, Action: "start", Actor: events.Actor{Attributes: attrs("f", "a")}}, "", ""},
		{"another fleet", events.Message{Type: events.ContainerEventType, Action: "die", Actor: events.Actor{Attributes: attrs("g", "a")}}, "", ""},
		{"the fleet's lock (no client)", events.Message{Type: events.ContainerEventType, Action: "destroy", Actor: events.Actor{Attributes: attrs("f", "")}}, "", ""},
		{"not a container", events.Message{Type: events.VolumeEventType, Action: "destroy", Actor: events.Actor{Attributes: attrs("f", "a")}}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, ok := eventOf(tt.msg, "f")
			if ok != (tt.want != "") || ev.Action != tt.want || ev.Client != tt.client {
				t.Fatalf("eventOf = %+v, %v; want action %q client %q", ev, ok, tt.want, tt.client)
			}
		})
	}
}
