// Package observe holds the observed-state snapshot: what exists on the Docker
// host (and later nginx and PostgreSQL) at one moment. It is plain data that
// adapters fill and the planner reads; it imports no adapter and makes no calls.
package observe

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
)

// Label keys fleetctl puts on every object it creates.
const (
	LabelManagedBy  = "io.fleetctl.managed-by"
	LabelFleet      = "io.fleetctl.fleet"
	LabelClient     = "io.fleetctl.client"
	LabelConfigHash = "io.fleetctl.config-hash"
	// ManagedByValue is the value of LabelManagedBy.
	ManagedByValue = "fleetctl"
)

// PreviousSuffix is appended to a client's container name while a recreate
// keeps the old container (stopped) until the new one is healthy. Client names
// cannot contain a dot, so the name never collides with another client's.
const PreviousSuffix = ".previous"

// State is one snapshot of a Docker host, as seen by one fleet.
type State struct {
	// Fleet the snapshot was taken for.
	Fleet string `json:"fleet"`
	// Containers holds every container on the host (managed or not), so the
	// planner can see name and port collisions. Sorted by name.
	Containers []Container `json:"containers"`
	// Volumes holds the volumes labelled with this fleet plus any unmanaged
	// volume whose name the fleet wants. Sorted by name.
	Volumes []Volume `json:"volumes"`
	// Images maps each image reference present locally ("repo:tag") to its ID.
	Images map[string]string `json:"images"`
	// Sites is the nginx sites directory, when fleet.yaml has a proxy.
	// SitesErr says why it could not be read (Sites is then nil): the
	// containers are still planned.
	SitesErr string `json:"sitesErr,omitempty"`
	// Sites is the nginx sites directory (nil when fleet.yaml has no proxy).
	Sites *SitesState `json:"sites,omitempty"`
	// BoundPorts are host ports a client wants that a process other than a
	// container already listens on (checked on a local engine only).
	BoundPorts []PortBinding `json:"boundPorts,omitempty"`
	// Unverified names the containers whose inspect did not answer in time:
	// their labels were trusted.
	Unverified []string `json:"unverified,omitempty"`
	// Hosts holds each host's own snapshot when fleet.yaml has hosts; the
	// fields above then merge the reachable hosts (hosts.go).
	Hosts []HostState `json:"hosts,omitempty"`
	// SelfImage is fleetctl's own image on the engine (the sync nodes run
	// it), set when fleet.yaml has sync; SelfImageErr says why it is not.
	SelfImage    string `json:"selfImage,omitempty"`
	SelfImageErr string `json:"selfImageErr,omitempty"`
	// Monitoring is the directory of the deployed monitoring's files, when
	// fleet.yaml has monitoring.deploy (monitoring.go); MonitoringErr says
	// why it could not be read.
	Monitoring    *MonitoringState `json:"monitoring,omitempty"`
	MonitoringErr string           `json:"monitoringErr,omitempty"`
}

// Container is one container as listed by the engine.
type Container struct {
	ID      string            `json:"id"`
	Name    string            `json:"name"` // without the leading "/"
	Image   string            `json:"image"`
	ImageID string            `json:"imageID"`
	State   string            `json:"state"` // created, running, exited, paused, restarting, dead
	Health  string            `json:"health,omitempty"`
	Labels  map[string]string `json:"labels,omitempty"`
	// Ports are the published host ports with their host IP.
	Ports []PortBinding `json:"ports,omitempty"`
	// Mounts are the names of the volumes the container mounts.
	Mounts  []string `json:"mounts,omitempty"`
	Created int64    `json:"created"`
	// Runtime is what inspecting it told (nil when not inspected).
	Runtime *Runtime `json:"runtime,omitempty"`
	// Probe is its HTTP readiness answer (nil when not probed).
	Probe *Probe `json:"probe,omitempty"`
}

// PortBinding is one published port.
type PortBinding struct {
	HostIP   string `json:"hostIP"`
	HostPort int    `json:"hostPort"`
}

// Volume is one volume.
type Volume struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
}

// Managed reports whether fleetctl created the object for fleet.
func Managed(labels map[string]string, fleet string) bool {
	return labels[LabelManagedBy] == ManagedByValue && labels[LabelFleet] == fleet
}

// Running reports whether the container's process is up.
func (c Container) Running() bool { return c.State == "running" || c.State == "restarting" }

// Fingerprint is a digest of everything the planner reads, so a saved plan
// can be refused when the world changed after it was made.
func (s *State) Fingerprint() string {
	h := sha256.New()
	fmt.Fprintf(h, "fleet=%s\n", s.Fleet)
	cs := append([]Container(nil), s.Containers...)
	sort.Slice(cs, func(i, j int) bool { return cs[i].ID < cs[j].ID })
	for _, c := range cs {
		var ports []string
		for _, p := range c.Ports {
			ports = append(ports, fmt.Sprintf("%s:%d", p.HostIP, p.HostPort))
		}
		sort.Strings(ports)
		fmt.Fprintf(h, "c %s %s %s %s %s %s %s\n", c.ID, c.Name, c.ImageID, c.State,
			labelsString(c.Labels), strings.Join(ports, ","), c.Image)
	}
	vs := append([]Volume(nil), s.Volumes...)
	sort.Slice(vs, func(i, j int) bool { return vs[i].Name < vs[j].Name })
	for _, v := range vs {
		fmt.Fprintf(h, "v %s %s\n", v.Name, labelsString(v.Labels))
	}
	refs := make([]string, 0, len(s.Images))
	for r := range s.Images {
		refs = append(refs, r)
	}
	sort.Strings(refs)
	for _, r := range refs {
		fmt.Fprintf(h, "i %s %s\n", r, s.Images[r])
	}
	if s.Sites != nil {
		s.Sites.fingerprint(h)
	}
	if s.Monitoring != nil {
		s.Monitoring.fingerprint(h)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func labelsString(l map[string]string) string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(l[k])
		b.WriteByte(';')
	}
	return b.String()
}

// ContainerDetail is one container as inspected, for adopting a deployment
// fleetctl did not create (fleetctl import). Env holds values in clear:
// keep it off every output.
type ContainerDetail struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Image   string `json:"image"` // the reference it was created from
	ImageID string `json:"imageID"`
	State   string `json:"state"`
	// Env is the container's environment ("K=V"), without the entries its
	// image sets to the same value.
	Env []string `json:"-"`
	// Ports are the host bindings of each container port ("8080/tcp").
	Ports         map[string][]PortBinding `json:"ports"`
	Mounts        []DetailMount            `json:"mounts"`
	RestartPolicy string                   `json:"restartPolicy"`
	MemoryBytes   int64                    `json:"memoryBytes,omitempty"`
	NanoCPUs      int64                    `json:"nanoCPUs,omitempty"`
	Labels        map[string]string        `json:"labels,omitempty"`
}

// DetailMount is one mount of an inspected container.
type DetailMount struct {
	Type        string `json:"type"` // volume, bind, tmpfs
	Name        string `json:"name,omitempty"`
	Source      string `json:"source,omitempty"`
	Destination string `json:"destination"`
}
