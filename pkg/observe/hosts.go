package observe

// LabelHost records, on every object fleetctl creates when fleet.yaml has
// hosts, the name of the host it was placed on: the placement is read back
// from the hosts' objects, so there is no state file.
const LabelHost = "io.fleetctl.host"

// HostState is one host's snapshot, or why it could not be taken.
type HostState struct {
	Host string `json:"host"`
	// State is nil when the host could not be observed.
	State *State `json:"state,omitempty"`
	// Err says why the host could not be observed (masked).
	Err string `json:"err,omitempty"`
}

// Reachable reports whether the host was observed.
func (h *HostState) Reachable() bool { return h.State != nil }
