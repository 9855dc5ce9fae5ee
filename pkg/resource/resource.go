// Package resource holds the concrete object specs the planner asks adapters to
// create (a container, a volume, a site file, a rendered file). It is the
// vocabulary shared by pkg/plan and the adapters, so neither has to import the
// other. Plain data, no I/O. It also holds the sync's schema naming rule
// (syncschema.go), which the spec, the planner and the sync node share.
package resource

import (
	"slices"
	"strings"
	"time"
)

// EnvVar is one container environment variable. Sensitive values are masked
// in every rendering and never hashed in clear.
type EnvVar struct {
	Name      string `json:"name"`
	Value     string `json:"value"`
	Sensitive bool   `json:"sensitive,omitempty"`
}

// Container is everything needed to create one client container.
type Container struct {
	Name          string            `json:"name"`
	Image         string            `json:"image"`
	Env           []EnvVar          `json:"env"` // sorted by Name
	Labels        map[string]string `json:"labels"`
	Volume        string            `json:"volume"`
	MountPath     string            `json:"mountPath"`
	BindAddress   string            `json:"bindAddress"`
	HostPort      int               `json:"hostPort"`
	ContainerPort int               `json:"containerPort"`
	RestartPolicy string            `json:"restartPolicy"`
	MemoryBytes   int64             `json:"memoryBytes,omitempty"`
	NanoCPUs      int64             `json:"nanoCPUs,omitempty"`
	// Health is how apply decides the container is ready.
	Health Health `json:"health"`
	// Cmd, when set, replaces the image's default arguments (the sync
	// nodes run `fleetctl sync-node ...` from fleetctl's own image).
	Cmd []string `json:"cmd,omitempty"`
	// Mounts are volumes mounted besides Volume (a sync node mounts every
	// replicated client's volume, read-write: a WAL reader needs -shm).
	Mounts []Mount `json:"mounts,omitempty"`
	// Binds are host directories mounted into the container (Prometheus'
	// and Grafana's rendered configuration, read-only).
	Binds []Bind `json:"binds,omitempty"`
	// NetworkMode is the container's network ("" is the engine's default
	// bridge; "host" shares the host's network: nothing is published and
	// the process listens on BindAddress:HostPort itself).
	NetworkMode string `json:"networkMode,omitempty"`
}

// Bind is a host path mounted at Target.
type Bind struct {
	Source   string `json:"source"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"readOnly,omitempty"`
}

// Mount is a named volume mounted at Target.
type Mount struct {
	Volume string `json:"volume"`
	Target string `json:"target"`
}

// Health is an HTTP health gate: GET Path on the published port must answer
// 200 with {"status": true} within Timeout.
type Health struct {
	Path     string        `json:"path"`
	Timeout  time.Duration `json:"timeout"`
	Interval time.Duration `json:"interval"`
	// AnyOK: any HTTP 200 on Path is healthy, whatever the body (the sync
	// nodes' /health); otherwise the body must be {"status": true}.
	AnyOK bool `json:"anyOK,omitempty"`
}

// Volume is a named data volume.
type Volume struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels"`
}

// SortEnv sorts env by name, in place.
func SortEnv(env []EnvVar) {
	slices.SortFunc(env, func(a, b EnvVar) int { return strings.Compare(a.Name, b.Name) })
}

// EnvMap returns env as a map (values in clear: keep it off any output).
func EnvMap(env []EnvVar) map[string]EnvVar {
	m := make(map[string]EnvVar, len(env))
	for _, e := range env {
		m[e.Name] = e
	}
	return m
}
