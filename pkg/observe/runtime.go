package observe

import "strconv"

// Runtime is what inspecting a container told: its real state and, when it
// was verified, the configuration it actually runs with. Labels are claims;
// this is the truth (DESIGN.md, invariant 8). Nil when it was not inspected.
type Runtime struct {
	// Status is the engine's state word: created, running, restarting, exited, ...
	Status     string `json:"status"`
	Running    bool   `json:"running"`
	Restarting bool   `json:"restarting"`
	// RestartCount counts the restarts the engine made since the container
	// was last started by hand (a manual start resets it).
	RestartCount int `json:"restartCount"`
	ExitCode     int `json:"exitCode"`
	// Health is the image's own HEALTHCHECK status ("" when it has none).
	Health string `json:"health,omitempty"`
	// Logs are the last few lines of output of a container that is not up,
	// already masked by the adapter (see pkg/redact).
	Logs []string `json:"logs,omitempty"`
	// Config is what the container runs with; nil when it was not verified
	// (plan --trust-labels, or the inspect did not answer in time).
	Config *RunConfig `json:"-"`
}

// Down reports whether the container is restarting or has exited.
func (r *Runtime) Down() bool { return r != nil && (r.Restarting || !r.Running) }

// RunConfig is a container's configuration as the engine holds it. It stays
// in memory: env values are in clear, and the planner only compares digests
// of the sensitive ones.
type RunConfig struct {
	Image string
	// Env is the container's environment; ImageEnv the part its image set.
	Env      map[string]string
	ImageEnv map[string]string
	// Ports maps "containerPort/proto" to its host bindings.
	Ports   []PortMapping
	Mounts  []Mount
	Restart string
	Memory  int64
	CPUs    int64 // nano CPUs
}

// PortMapping is one published port with the container port it forwards to.
type PortMapping struct {
	HostIP        string
	HostPort      int
	ContainerPort int
}

// String is "127.0.0.1:8081->8080".
func (p PortMapping) String() string {
	return p.HostIP + ":" + strconv.Itoa(p.HostPort) + "->" + strconv.Itoa(p.ContainerPort)
}

// Mount is one mount: a named volume (Volume set) or a bind (Source set).
type Mount struct {
	Volume string
	Source string
	Target string
}

// Probe is one answer of a client's HTTP readiness endpoint.
type Probe struct {
	OK bool `json:"ok"`
	// Path is the endpoint the verdict comes from (/ready, or /health when
	// the image answered 404 on /ready, or the configured path).
	Path string `json:"path"`
	// Detail says what the endpoint answered when not OK.
	Detail string `json:"detail,omitempty"`
}

// String is "healthy (/ready)" or "unhealthy (/ready: HTTP 503)".
func (p Probe) String() string {
	if p.OK {
		return "healthy (" + p.Path + ")"
	}
	return "unhealthy (" + p.Path + ": " + p.Detail + ")"
}
