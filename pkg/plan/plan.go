package plan

import (
	"github.com/quantabase/fleetctl/pkg/observe"
	"github.com/quantabase/fleetctl/pkg/resource"
)

// Kind is what an action does. Each kind maps to a short sequence of engine
// calls in pkg/apply; the planner has already decided everything else.
type Kind string

const (
	KindPullImage       Kind = "pull-image"
	KindCreateVolume    Kind = "create-volume"
	KindCreateContainer Kind = "create-container"
	// KindRecreateContainer replaces a client's container stop-first, keeping
	// the old one (stopped, renamed) until the new one is healthy.
	KindRecreateContainer Kind = "recreate-container"
	KindStartContainer    Kind = "start-container"
	KindStopContainer     Kind = "stop-container"
	KindRemoveContainer   Kind = "remove-container"
	// KindMigrateDatabase moves a client from SQLite to PostgreSQL (migrate.go).
	KindMigrateDatabase Kind = "migrate-database"
)

// Symbol is the Terraform-like marker of a kind.
func (k Kind) Symbol() string {
	switch k {
	case KindPullImage, KindCreateVolume, KindCreateContainer:
		return "+"
	case KindRecreateContainer, KindMigrateDatabase, KindMoveClient:
		return "-/+"
	case KindStartContainer, KindStopContainer, KindRestartContainer:
		return "~"
	case KindRemoveContainer, KindRemoveVolume:
		return "-"
	case KindSyncSites, KindProvisionSync, KindWriteMonitoring, KindReloadPrometheus:
		return "~"
	}
	return "?"
}

// Action is one step of a plan.
type Action struct {
	// ID is unique in the plan: "container.acme-corp", "volume.acme-corp", "image.REF".
	ID     string `json:"id"`
	Kind   Kind   `json:"kind"`
	Client string `json:"client,omitempty"`
	// Host is the fleet host whose engine runs the action (hosts.go); empty
	// without hosts and for actions off the engines (sync-sites).
	Host string `json:"host,omitempty"`
	// Object is the name of the Docker object acted on.
	Object string `json:"object"`
	// Causes say why, in words an operator reads: "container missing",
	// "env WEBUI_NAME changed".
	Causes    []string `json:"causes"`
	DependsOn []string `json:"dependsOn,omitempty"`
	// Changes lists field-level differences (recreate only).
	Changes []Change `json:"changes,omitempty"`
	// Before and After are masked views for people and programs.
	Before map[string]any `json:"before"`
	After  map[string]any `json:"after"`
	// Sites lists the file changes of a sync-sites action (proxy.go).
	Sites []resource.SiteChange `json:"sites,omitempty"`
	// Files lists the file changes of a write-monitoring-files action (monitoring.go).
	Files []resource.FileChange `json:"files,omitempty"`
	// Migration describes a migrate-database action (migrate.go).
	Migration *Migration `json:"migration,omitempty"`
	// SyncProvision is what a provision-sync action creates (sync.go).
	SyncProvision *SyncProvision `json:"-"`
	// Move describes a move-client action (move.go).
	Move *Move `json:"move,omitempty"`
	// Rollout is the id of the image rollout the action belongs to (rollout.go).
	Rollout string `json:"rollout,omitempty"`

	// What the executor needs; not part of the JSON contract.
	Container *resource.Container `json:"-"`
	Volume    *resource.Volume    `json:"-"`
	Image     string              `json:"-"`
	// ExistingID is the client's current container (recreate, start, stop, remove).
	ExistingID string `json:"-"`
	// ExistingMatches: the current container already has the desired config
	// (an interrupted recreate is being resumed).
	ExistingMatches bool `json:"-"`
	// PreviousID is a container kept by an interrupted recreate.
	PreviousID string `json:"-"`
	// Start: the container must end running and healthy.
	Start bool `json:"-"`
	// PreviousName is where the old container is parked during a recreate.
	PreviousName string `json:"-"`
	// OldPort is where the current container is published, so a rolled-back
	// recreate can health-check the restored container on its own port.
	OldPort observe.PortBinding `json:"-"`
	// OldRestart is the restart policy to give the old container back if a
	// recreate rolls back (it is parked with "no").
	OldRestart string `json:"-"`
}

// Change is one field that differs between the observed and desired config.
type Change struct {
	Field     string `json:"field"`
	Before    string `json:"before,omitempty"`
	After     string `json:"after,omitempty"`
	Sensitive bool   `json:"sensitive,omitempty"`
	Added     bool   `json:"added,omitempty"`
	Removed   bool   `json:"removed,omitempty"`
}

// Problem is a conflict that blocks one client (or the whole plan when
// Client is empty); the other clients still converge.
type Problem struct {
	Client  string `json:"client,omitempty"`
	Host    string `json:"host,omitempty"`
	Object  string `json:"object,omitempty"`
	Message string `json:"message"`
}

// Held is an action Options.HoldMigrations kept out of the plan.
type Held struct {
	Client string `json:"client"`
	Object string `json:"object"`
	Kind   Kind   `json:"kind"`
	Reason string `json:"reason"`
}

// Orphan is a managed container whose client is no longer in fleet.yaml and
// that the plan leaves alone (prune is off).
type Orphan struct {
	Client    string `json:"client"`
	Host      string `json:"host,omitempty"`
	Container string `json:"container"`
	Volume    string `json:"volume,omitempty"`
}

// Plan is the full set of actions for one fleet.
type Plan struct {
	FormatVersion int       `json:"formatVersion"`
	Fleet         string    `json:"fleet"`
	Actions       []Action  `json:"actions"`
	Conflicts     []Problem `json:"conflicts"`
	Orphans       []Orphan  `json:"orphans"`
	// Down lists the clients that should run and are not up (problems.go).
	Down     []Down   `json:"problems"`
	Held     []Held   `json:"held,omitempty"`
	Warnings []string `json:"warnings"`
	// RequeueAfterMS: the plan saw something transient (a container the
	// engine is removing) and left it alone; look again after this many ms.
	RequeueAfterMS int `json:"requeueAfterMs,omitempty"`
	// Rollouts group the replacements that change an image (rollout.go).
	Rollouts []Rollout `json:"rollouts,omitempty"`
	Summary  Summary   `json:"summary"`
	// Fingerprint of the observed state the plan was built from; SpecDigest
	// of the fleet.yaml bytes. A saved plan is refused when either differs.
	Fingerprint string `json:"fingerprint"`
	SpecDigest  string `json:"specDigest"`
	// Options the plan was built with, so a saved plan is rebuilt the same way.
	Options Options `json:"options"`
	// Hosts is each fleet host's reachability and placed clients, in
	// fleet.yaml order (hosts.go); empty without hosts.
	Hosts []HostStatus `json:"hosts,omitempty"`
}

// Summary counts actions the way Terraform does.
type Summary struct {
	Add     int `json:"add"`
	Change  int `json:"change"`
	Destroy int `json:"destroy"`
	Pull    int `json:"pull"`
}

// Empty reports whether applying the plan would change nothing.
func (p *Plan) Empty() bool { return len(p.Actions) == 0 }

// Action returns the action with id, or nil.
func (p *Plan) Action(id string) *Action {
	for i := range p.Actions {
		if p.Actions[i].ID == id {
			return &p.Actions[i]
		}
	}
	return nil
}

func (p *Plan) summarize() {
	var s Summary
	for _, a := range p.Actions {
		switch a.Kind {
		case KindPullImage:
			s.Pull++
		case KindCreateVolume, KindCreateContainer:
			s.Add++
		case KindRecreateContainer, KindStartContainer, KindStopContainer, KindMigrateDatabase, KindRestartContainer, KindProvisionSync, KindMoveClient:
			s.Change++
		case KindRemoveContainer, KindRemoveVolume:
			s.Destroy++
		case KindSyncSites:
			countSites(&s, a.Sites)
		case KindWriteMonitoring, KindReloadPrometheus:
			countFiles(&s, a) // monitoring_text.go
		}
	}
	p.Summary = s
}
