package plan

import (
	"fmt"

	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/observe"
)

// KindMoveClient moves a client to another host (its clients[].host changed):
// the executor runs Move.Steps in order on both hosts' engines.
const KindMoveClient Kind = "move-client"

// Move describes a move-client action. The action's Host is the new host;
// its Container and Volume are the client's objects there.
type Move struct {
	From      string     `json:"from"`
	To        string     `json:"to"`
	Volume    string     `json:"volume"`
	Steps     []MoveStep `json:"steps"`
	Downtime  string     `json:"downtime"`
	OnFailure string     `json:"onFailure"`
	// KeptVolume is the old host's volume, kept after the move.
	KeptVolume string `json:"keptVolume"`
	// Fleet and Client name the helper containers that copy the volume.
	Fleet  string `json:"fleet"`
	Client string `json:"client"`
	// OldRunning: the old container was running (a failed move starts it again).
	OldRunning bool `json:"oldRunning"`
}

// The steps of a move, in the order the executor runs them.
const (
	MoveStepStop   = "stop"
	MoveStepCopy   = "copy"
	MoveStepCreate = "create"
	MoveStepHealth = "health"
	MoveStepSwitch = "switch"
	MoveStepRemove = "remove-old"
)

// MoveStep is one step: what the executor runs (Step) and what the plan
// says about it (Text).
type MoveStep struct {
	Step string `json:"step"`
	Text string `json:"text"`
}

// movePlacement decides a pinned client whose objects are on other hosts
// than its clients[].host (on, in fleet.yaml host order; ctrOn: the hosts
// holding one of its containers). It returns the host the client's data is
// moved from ("" when there is nothing to move) and whether the client is
// placed on its pinned host at all:
//   - only volumes elsewhere, the container on the pinned host: a finished
//     move whose old volume is kept; the client is simply there;
//   - everything on one other host, both reachable: a move from it;
//   - anything else (several hosts hold containers, data on several hosts)
//     blocks the client.
func movePlacement(pinned string, on, ctrOn []string) (from string, ok bool) {
	if len(ctrOn) == 1 && ctrOn[0] == pinned && containsStr(on, pinned) {
		return "", true
	}
	if len(on) == 1 && on[0] != pinned && len(ctrOn) <= 1 && (len(ctrOn) == 0 || ctrOn[0] == on[0]) {
		return on[0], true
	}
	return "", false
}

// containerHosts maps each client to the hosts holding a managed container of it.
func containerHosts(fleetName string, hosts []observe.HostState) map[string][]string {
	out := map[string][]string{}
	for i := range hosts {
		st := hosts[i].State
		if st == nil {
			continue
		}
		for j := range st.Containers {
			l := st.Containers[j].Labels
			if c := l[observe.LabelClient]; c != "" && observe.Managed(l, fleetName) && !containsStr(out[c], hosts[i].Host) {
				out[c] = append(out[c], hosts[i].Host)
			}
		}
	}
	return out
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// movedPorts returns hs without the bound ports a moving client's old
// container publishes on its old host: hosts that share an address (or a
// machine) see the old container's port as held, and the move stops that
// container before it starts the new one. A port held by anything else makes
// the new container's start fail, and the move puts the client back.
func movedPorts(s *fleet.Spec, hs *observe.HostState, hosts []observe.HostState, pl Placement) *observe.HostState {
	if len(pl.Moves) == 0 || hs.State == nil || len(hs.State.BoundPorts) == 0 {
		return hs
	}
	freed := map[int]bool{}
	for i := range s.Clients {
		c := &s.Clients[i]
		from := pl.Moves[c.Name]
		if from == "" || pl.Host[c.Name] != hs.Host {
			continue
		}
		for j := range hosts {
			if hosts[j].Host != from || hosts[j].State == nil {
				continue
			}
			for _, ctr := range hosts[j].State.Containers {
				if observe.Managed(ctr.Labels, s.Fleet) && ctr.Labels[observe.LabelClient] == c.Name {
					for _, p := range ctr.Ports {
						if p.HostPort == c.Port {
							freed[c.Port] = true
						}
					}
				}
			}
		}
	}
	if len(freed) == 0 {
		return hs
	}
	st := *hs.State
	st.BoundPorts = nil
	for _, p := range hs.State.BoundPorts {
		if !freed[p.HostPort] {
			st.BoundPorts = append(st.BoundPorts, p)
		}
	}
	out := *hs
	out.State = &st
	return &out
}

// moves turns the new host's create-volume and create-container of each
// moving client into one move-client action (same ID as the container
// action, so the proxy's sites depend on it).
// With hold (Options.HoldMigrations: the watch daemon) the move is listed
// in out.Held instead, like a migration it stops the client while its data
// is copied; the returned clients keep their proxy site as it is.
func moves(out *Plan, pl Placement, st *observe.State, fleetName string, hold bool) (held map[string]bool) {
	held = map[string]bool{}
	if len(pl.Moves) == 0 {
		return held
	}
	kept := out.Actions[:0]
	byID := map[string]*Action{}
	for i := range out.Actions {
		a := &out.Actions[i]
		if from := pl.Moves[a.Client]; from != "" && a.Host == pl.Host[a.Client] {
			byID[a.ID] = a
		}
	}
	for i := range out.Actions {
		a := out.Actions[i]
		from := pl.Moves[a.Client]
		if from == "" || a.Host != pl.Host[a.Client] {
			kept = append(kept, a)
			continue
		}
		switch {
		case a.Kind == KindCreateVolume && byID["container."+a.Client] != nil && byID["container."+a.Client].Kind == KindCreateContainer:
			continue // part of the move
		case a.Kind == KindCreateContainer && a.ID == "container."+a.Client && hold:
			held[a.Client] = true
			out.Held = append(out.Held, Held{Client: a.Client, Object: a.Object, Kind: KindMoveClient,
				Reason: fmt.Sprintf("moving the client from host %s to host %s stops it while its data is copied: run 'fleetctl apply' to move it", from, a.Host)})
		case a.Kind == KindCreateContainer && a.ID == "container."+a.Client:
			kept = append(kept, moveAction(a, byID["volume."+a.Client], from, st, fleetName))
		default:
			kept = append(kept, a)
		}
	}
	out.Actions = kept
	return held
}

// moveAction builds the move of create's client from host from.
func moveAction(create Action, vol *Action, from string, st *observe.State, fleetName string) Action {
	a := create
	a.Kind = KindMoveClient
	to := create.Host
	var deps []string
	for _, d := range create.DependsOn {
		if d != "volume."+create.Client {
			deps = append(deps, d)
		}
	}
	a.DependsOn = deps
	volName := ""
	if create.Container != nil {
		volName = create.Container.Volume
	}
	if vol != nil {
		a.Volume = vol.Volume
		volName = vol.Object
	}
	var old *observe.Container
	for i := range st.Hosts {
		if hs := &st.Hosts[i]; hs.Host == from && hs.State != nil {
			for j := range hs.State.Containers {
				c := &hs.State.Containers[j]
				if observe.Managed(c.Labels, fleetName) && c.Labels[observe.LabelClient] == create.Client && c.Name == create.Object {
					old = c
				}
			}
		}
	}
	m := &Move{From: from, To: to, Volume: volName, KeptVolume: volName, Fleet: fleetName, Client: create.Client}
	a.Before = map[string]any{"host": from, "volume": volName}
	if old != nil {
		a.ExistingID = old.ID
		m.OldRunning = old.Running()
		a.Before["state"] = old.State
	}
	after := make(map[string]any, len(create.After)+1)
	for k, v := range create.After {
		after[k] = v
	}
	after["host"] = to
	a.After = after
	a.Causes = []string{fmt.Sprintf("clients[%s].host changed: %s → %s", create.Client, from, to)}
	stop := fmt.Sprintf("stop container %s on host %s (one writer; the client is down from here)", create.Object, from)
	if old == nil {
		stop = fmt.Sprintf("no container of the client on host %s: nothing to stop", from)
	}
	m.Steps = []MoveStep{
		{MoveStepStop, stop},
		{MoveStepCopy, fmt.Sprintf("create volume %s on host %s and stream the volume %s of host %s into it (a consistent snapshot by a helper container on %s, extracted by one on %s), every checksum verified", volName, to, volName, from, from, to)},
		{MoveStepCreate, fmt.Sprintf("create container %s on host %s", create.Object, to)},
		{MoveStepHealth, "start it and wait for its health check"},
		{MoveStepSwitch, "the proxy's upstream follows the placement to host " + to + " (its sites are synced after this action)"},
		{MoveStepRemove, fmt.Sprintf("remove container %s on host %s; its volume %s stays on host %s (fleetctl never removes it; prune it by hand once the move is confirmed)", create.Object, from, volName, from)},
	}
	if !create.Start {
		m.Steps[3].Text = "the client stays stopped (as in fleet.yaml): no health check"
	}
	m.Downtime = fmt.Sprintf("from step 1 until step 4 passes: the copy of volume %s between the hosts plus one start and health check", volName)
	m.OnFailure = fmt.Sprintf("a failure before step 6 removes the new container and volume on host %s and starts the old container on host %s again; nothing is lost (the old volume was only read)", to, from)
	a.Move = m
	return a
}

func (t *textWriter) move(m *Move) {
	for i, s := range m.Steps {
		t.printf("      %d. %s\n", i+1, s.Text)
	}
	t.printf("      on failure: %s\n", m.OnFailure)
	t.printf("      downtime: %s\n", m.Downtime)
}
