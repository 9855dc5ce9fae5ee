package docker

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"

	"github.com/quantabase/fleetctl/pkg/observe"
)

// Event is a change to one of a fleet's client containers that may need a
// reconcile: it died, was removed, ran out of memory or turned unhealthy.
type Event struct {
	// Action is "die", "destroy", "oom" or "unhealthy".
	Action      string
	ContainerID string
	// Name is the container name (without the leading "/").
	Name string
	// Client is the fleet client the container belongs to.
	Client string
	// Time is when the engine recorded the event.
	Time time.Time
}

// eventActions are the engine actions that can mean drift. A health_status
// filter matches every "health_status: ..." action; only unhealthy is kept.
var eventActions = []string{"die", "destroy", "oom", "health_status"}

// Events streams the events of fleet's client containers until ctx ends.
// The filter is applied by the engine: only containers labelled with the
// fleet and a client (so not the fleet's lock) are reported. The error
// channel receives one error when the stream breaks (the engine restarted,
// ctx ended); the caller reconnects and should resync, since events in
// between are lost.
func (c *Client) Events(ctx context.Context, fleet string) (<-chan Event, <-chan error) {
	args := filters.NewArgs(
		filters.Arg("type", string(events.ContainerEventType)),
		filters.Arg("label", observe.LabelFleet+"="+fleet),
		filters.Arg("label", observe.LabelClient),
	)
	for _, a := range eventActions {
		args.Add("event", a)
	}
	msgs, errs := c.api.Events(ctx, events.ListOptions{Filters: args})
	out := make(chan Event, 64)
	outErr := make(chan error, 1)
	go func() {
		defer close(out)
		for {
			select {
			case m := <-msgs:
				ev, ok := eventOf(m, fleet)
				if !ok {
					continue
				}
				select {
				case out <- ev:
				case <-ctx.Done():
					outErr <- ctx.Err()
					return
				}
			case err := <-errs:
				if err == nil {
					err = fmt.Errorf("docker events for fleet %s: stream closed", fleet)
				} else {
					err = fmt.Errorf("docker events for fleet %s: %w", fleet, err)
				}
				outErr <- err
				return
			}
		}
	}()
	return out, outErr
}

// eventOf keeps the events that mean drift (the engine filter is a first
// sieve; labels are checked again so a misbehaving engine cannot trigger
// reconciles for foreign containers).
func eventOf(m events.Message, fleet string) (Event, bool) {
	attrs := m.Actor.Attributes
	if m.Type != events.ContainerEventType || attrs[observe.LabelFleet] != fleet || attrs[observe.LabelClient] == "" {
		return Event{}, false
	}
	action := string(m.Action)
	if strings.HasPrefix(action, "health_status") {
		if strings.TrimSpace(strings.TrimPrefix(action, "health_status:")) != "unhealthy" {
			return Event{}, false
		}
		action = "unhealthy"
	}
	switch action {
	case "die", "destroy", "oom", "unhealthy":
	default:
		return Event{}, false
	}
	t := time.Unix(0, m.TimeNano)
	if m.TimeNano == 0 {
		t = time.Unix(m.Time, 0)
	}
	return Event{Action: action, ContainerID: m.Actor.ID, Name: attrs["name"], Client: attrs[observe.LabelClient], Time: t}, true
}

// Ping checks that the engine answers (for readiness probes).
func (c *Client) Ping(ctx context.Context) error {
	if _, err := c.api.Ping(ctx); err != nil {
		return fmt.Errorf("ping docker engine at %s: %w", c.host, err)
	}
	return nil
}
