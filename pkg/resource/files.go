package resource

// FileChange is one rendered file a write-files action writes (the
// monitoring deploy's prometheus.yml, alert rules and Grafana provisioning).
// The planner decides; the adapter writes atomically. The rendered files
// hold no secret, so the diff is part of the plan.
type FileChange struct {
	Op SiteOp `json:"op"` // create or update
	// Path is relative to the action's directory ("prometheus/prometheus.yml").
	Path   string   `json:"path"`
	Causes []string `json:"causes"`
	// Diff is the changed lines of an update (pkg/fleet.Diff's form).
	Diff string `json:"diff,omitempty"`
	// Data is the file's new content (not part of the JSON contract: a
	// saved plan is rebuilt before it runs).
	Data []byte `json:"-"`
}
