package plan

import (
	"fmt"

	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/observe"
)

// Options narrow or widen what a plan may do.
type Options struct {
	// Targets limits the plan to these clients (by name); empty means all.
	Targets []string `json:"targets,omitempty"`
	// Exclude leaves these clients out of the plan (the watch daemon's
	// per-client backoff). Their objects are not treated as orphans.
	Exclude []string `json:"exclude,omitempty"`
	// Prune removes containers of clients deleted from fleet.yaml (never
	// their volumes). The spec's prune: true has the same effect.
	Prune bool `json:"prune,omitempty"`
	// Adopt replaces an unmanaged container that has a client's name (a
	// deployment made by the old scripts) by a managed one, keeping its volume.
	Adopt bool `json:"adopt,omitempty"`
	// TrustLabels skips verifying the running containers' configuration by
	// inspect: the labels' config hash alone decides (plan --trust-labels).
	TrustLabels bool `json:"trustLabels,omitempty"`
	// HoldMigrations leaves migrate-database and move-client actions out
	// of the plan and lists them in Plan.Held: the daemon waits for an
	// operator's apply.
	HoldMigrations bool `json:"holdMigrations,omitempty"`
	// Restart restarts these clients' running containers even when nothing
	// changed (fleetctl restart; rollout.go).
	Restart []string `json:"restart,omitempty"`
	// DeleteData removes the volumes of these clients once they have left
	// fleet.yaml (fleetctl destroy --delete-data; destroy.go).
	DeleteData []string `json:"deleteData,omitempty"`
}

// Build computes the plan that takes the observed state to the spec. secrets
// holds the resolved value of every reference in the spec. Build is pure.
func Build(s *fleet.Spec, secrets fleet.Secrets, st *observe.State, opt Options) *Plan {
	return build(s, secrets, st, opt, nil)
}

// build is Build; hsync is the sync share of one host's plan of a fleet
// with hosts (nil on a single engine).
func build(s *fleet.Spec, secrets fleet.Secrets, st *observe.State, opt Options, hsync *hostSync) *Plan {
	b := &builder{
		spec: s, secrets: secrets, st: st, opt: opt, hostSync: hsync,
		plan: &Plan{
			FormatVersion: FormatVersion, Fleet: s.Fleet,
			SpecDigest: s.Digest, Options: opt,
			Actions: []Action{}, Conflicts: []Problem{}, Orphans: []Orphan{}, Down: []Down{}, Warnings: []string{},
		},
		containers: make(map[string]*observe.Container, len(st.Containers)),
		volumes:    make(map[string]*observe.Volume, len(st.Volumes)),
		ports:      map[int][]string{},
		pulls:      map[string]bool{},
		targets:    map[string]bool{},
	}
	for _, t := range opt.Targets {
		b.targets[t] = true
	}
	b.excluded = make(map[string]bool, len(opt.Exclude))
	for _, x := range opt.Exclude {
		b.excluded[x] = true
	}
	for i := range st.Containers {
		c := &st.Containers[i]
		b.containers[c.Name] = c
		for _, p := range c.Ports {
			b.ports[p.HostPort] = appendUnique(b.ports[p.HostPort], c.Name)
		}
	}
	for i := range st.Volumes {
		b.volumes[st.Volumes[i].Name] = &st.Volumes[i]
	}
	b.index()
	blocked := b.siteConflicts()            // proxy.go
	for name := range b.sharedDatabases() { // migrate.go
		if blocked == nil {
			blocked = map[string]bool{}
		}
		blocked[name] = true
	}
	for i := range s.Clients {
		c := &s.Clients[i]
		if b.targeted(c.Name) && !blocked[c.Name] {
			b.client(c)
		}
	}
	b.day2() // rollout.go: rollouts, rollback labels, restarts
	b.orphans()
	b.deleteData() // destroy.go
	b.sites(blocked)
	b.syncNodes() // sync.go
	b.monitoring()
	b.plan.Fingerprint = b.relevant().Fingerprint()
	sortActions(b.plan.Actions)
	b.plan.summarize()
	return b.plan
}

type builder struct {
	spec       *fleet.Spec
	secrets    fleet.Secrets
	st         *observe.State
	opt        Options
	plan       *Plan
	containers map[string]*observe.Container
	volumes    map[string]*observe.Volume
	ports      map[int][]string
	pulls      map[string]bool
	targets    map[string]bool
	excluded   map[string]bool
	byClient   map[string][]*observe.Container
	byVolume   map[string][]*observe.Container
	// hostSync: with hosts, what this host does about the sync nodes.
	hostSync *hostSync
}

// removingRecheckMS is how soon to look again after seeing a container the
// engine is removing (`docker rm -f` sends "die" before "destroy").
const removingRecheckMS = 250

// requeue asks the caller to look again after ms: the plan saw something
// transient and left it alone (controller-runtime's RequeueAfter).
func (b *builder) requeue(ms int) {
	if b.plan.RequeueAfterMS == 0 || ms < b.plan.RequeueAfterMS {
		b.plan.RequeueAfterMS = ms
	}
}

func (b *builder) targeted(client string) bool {
	return !b.excluded[client] && (len(b.targets) == 0 || b.targets[client])
}

func (b *builder) conflict(client, object, format string, args ...any) {
	b.plan.Conflicts = append(b.plan.Conflicts, Problem{Client: client, Object: object, Message: fmt.Sprintf(format, args...)})
}

// client plans one client: conflicts first (they block every action of the
// client), then volume, image and container.
func (b *builder) client(c *fleet.Client) {
	d := renderClient(b.spec, c, b.secrets)
	name := d.Container.Name
	primary := b.containers[name]
	prev := b.containers[name+observe.PreviousSuffix]
	adopt, blocked := b.conflicts(c, &d, primary, prev)
	if blocked {
		return
	}
	vol := b.volumes[d.Volume.Name]
	if b.databaseConflict(c, &d, primary, prev, adopt) { // migrate.go
		return
	}

	act := b.containerAction(c, &d, primary, prev, adopt)
	if c.State != fleet.StateStopped && primary != nil && prev == nil && b.owns(primary, c.Name) &&
		(act == nil || act.Kind == KindStartContainer) {
		b.down(c.Name, primary, act, sensitiveValues(&d, primary)) // problems.go
	}
	if act == nil {
		return
	}
	if act.Kind == KindCreateContainer || (act.Kind == KindRecreateContainer && !act.ExistingMatches) {
		dep, ok := b.image(c)
		if !ok {
			return
		}
		if dep != "" {
			act.DependsOn = append(act.DependsOn, dep)
		}
	}
	if vol == nil {
		v := d.Volume
		b.plan.Actions = append(b.plan.Actions, Action{
			ID: "volume." + c.Name, Kind: KindCreateVolume, Client: c.Name, Object: v.Name,
			Causes: []string{"volume missing"}, Volume: &v,
			After: map[string]any{"name": v.Name},
		})
		act.DependsOn = append(act.DependsOn, "volume."+c.Name)
	} else if vol.Labels[observe.LabelManagedBy] == "" && act.Kind == KindCreateContainer {
		act.Causes = append(act.Causes, "adopting existing volume "+vol.Name+" (its data is kept)")
	}
	b.migration(c, &d, primary, prev, act) // migrate.go: sqlite → postgres
	if act.Kind == KindMigrateDatabase && b.opt.HoldMigrations {
		b.plan.Held = append(b.plan.Held, Held{Client: c.Name, Object: act.Object, Kind: act.Kind,
			Reason: "a database migration stops the client while its data is copied: run 'fleetctl apply' to start it"})
		return
	}
	b.plan.Actions = append(b.plan.Actions, *act)
}

// relevant is the part of the snapshot the plan read: this fleet's client
// containers, anything holding a name or host port the fleet wants, its
// volumes and its images. A saved plan goes stale only when these change,
// not when an unrelated container (or the fleet's own lock) comes and goes.
func (b *builder) relevant() *observe.State {
	names, ports, images := map[string]bool{}, map[int]bool{}, map[string]bool{}
	for i := range b.spec.Clients {
		c := &b.spec.Clients[i]
		n := b.spec.ContainerName(c)
		names[n], names[n+observe.PreviousSuffix] = true, true
		ports[c.Port], images[c.Image] = true, true
	}
	if b.spec.Sync != nil {
		for _, n := range b.spec.Sync.NodeList() {
			names[n.Name], names[n.Name+observe.PreviousSuffix], ports[n.Port] = true, true, true
		}
	}
	b.relevantMonitoring(names, ports, images) // monitoring_text.go
	sub := &observe.State{Fleet: b.st.Fleet, Volumes: b.st.Volumes, Images: map[string]string{}, Sites: b.st.Sites, Monitoring: b.st.Monitoring}
	for _, c := range b.st.Containers {
		keep := names[c.Name] || (observe.Managed(c.Labels, b.spec.Fleet) && c.Labels[observe.LabelClient] != "")
		for _, p := range c.Ports {
			keep = keep || ports[p.HostPort]
		}
		if keep {
			sub.Containers = append(sub.Containers, c)
		}
	}
	for ref := range images {
		if id, ok := b.st.Images[ref]; ok {
			sub.Images[ref] = id
		}
	}
	return sub
}

// owns reports whether ctr is this fleet's container for client.
func (b *builder) owns(ctr *observe.Container, client string) bool {
	return observe.Managed(ctr.Labels, b.spec.Fleet) && ctr.Labels[observe.LabelClient] == client
}

// containerAction decides what happens to the client's container (nil:
// nothing). Views are built only for clients that get an action: a no-op plan
// of a large fleet must stay cheap.
func (b *builder) containerAction(c *fleet.Client, d *Desired, primary, prev *observe.Container, adopt bool) *Action {
	run := c.State != fleet.StateStopped
	a := &Action{ID: "container." + c.Name, Client: c.Name, Object: d.Container.Name, Start: run}
	if prev != nil {
		a.PreviousID = prev.ID
	}
	if primary != nil {
		a.ExistingID = primary.ID
	}
	if prev != nil && prev.State == "removing" {
		b.requeue(removingRecheckMS)
	}
	switch {
	case primary == nil && prev == nil:
		a.Kind, a.Causes = KindCreateContainer, []string{"container missing"}
	case primary == nil:
		a.Kind = KindRecreateContainer
		a.Causes = []string{"container missing; an interrupted recreate left " + prev.Name + " (kept until the new container is healthy)"}
	case primary.State == "removing":
		// Transient: the engine is deleting it. Starting it would fail and
		// creating another would collide on the name; the next pass sees it gone.
		b.plan.Warnings = append(b.plan.Warnings, "client "+c.Name+": container "+primary.Name+" is being removed by the engine; it will be recreated on the next run")
		b.requeue(removingRecheckMS)
		return nil
	case adopt:
		a.Kind, a.Causes = KindRecreateContainer, []string{"adopt container created outside fleetctl (--adopt)"}
	case primary.Labels[observe.LabelConfigHash] != d.Hash:
		a.Kind = KindRecreateContainer
		a.Changes, a.Causes = changeCauses(primary, &d.Config)
		if len(a.Changes) == 0 && primary.Runtime != nil {
			if ch := verifyRuntime(primary.Runtime.Config, d); len(ch) > 0 {
				a.Changes, a.Causes = ch, causesOf(ch, "")
			}
		}
	case prev == nil && primary.Runtime != nil && len(verifyRuntime(primary.Runtime.Config, d)) > 0:
		// The labels match but the container does not: made or changed by
		// hand with copied labels. The running container is the truth.
		a.Kind = KindRecreateContainer
		a.Changes = verifyRuntime(primary.Runtime.Config, d)
		a.Causes = causesOf(a.Changes, " (the running container differs from its labels)")
	case b.imageUpdated(c, primary):
		a.Kind = KindRecreateContainer
		a.Causes = []string{"image " + c.Image + " now refers to another local image (" + shortID(primary.ImageID) + " -> " + shortID(b.st.Images[c.Image]) + ")"}
	case primary.State == "dead" || primary.State == "paused":
		a.Kind, a.Causes = KindRecreateContainer, []string{"container is " + primary.State}
	case prev != nil:
		a.Kind, a.ExistingMatches = KindRecreateContainer, true
		a.Causes = []string{"finish an interrupted recreate: " + prev.Name + " is still kept"}
	case run && !primary.Running():
		a.Kind, a.Causes = KindStartContainer, []string{"container is " + primary.State + ", desired running"}
	case !run && primary.Running():
		a.Kind, a.Causes = KindStopContainer, []string{"state: stopped in fleet.yaml"}
	default:
		return nil
	}
	// A failed recreate rolls back to the parked container when there is one
	// (the current one was never proven healthy), else to the current one.
	if prev != nil {
		a.OldPort, a.OldRestart = publishedPort(prev), restartOf(prev)
	} else if primary != nil {
		a.OldPort, a.OldRestart = publishedPort(primary), restartOf(primary)
	}
	ctr := d.Container
	a.Container, a.PreviousName = &ctr, ctr.Name+observe.PreviousSuffix
	a.After = containerView(&d.Config, run)
	if primary != nil {
		a.Before = observedView(primary)
	}
	return a
}

// imageUpdated reports whether the client's image tag now points to another
// image than the one its container runs (a pull or a local rebuild): the
// config hash holds the reference as written, so only the IDs can tell.
func (b *builder) imageUpdated(c *fleet.Client, primary *observe.Container) bool {
	local, ok := b.st.Images[c.Image]
	return ok && local != "" && primary.ImageID != "" && primary.ImageID != local
}

// publishedPort is where a container answers: from its config label (the
// engine lists ports of running containers only), else its live binding.
func publishedPort(c *observe.Container) observe.PortBinding {
	if cfg := parseConfig(c.Labels); cfg != nil && cfg.HostPort != 0 {
		return observe.PortBinding{HostIP: cfg.BindAddress, HostPort: cfg.HostPort}
	}
	if len(c.Ports) > 0 {
		return c.Ports[0]
	}
	return observe.PortBinding{}
}

// restartOf is the restart policy a container was created with ("" when unknown).
func restartOf(c *observe.Container) string {
	if cfg := parseConfig(c.Labels); cfg != nil {
		return cfg.Restart
	}
	return ""
}

func changeCauses(primary *observe.Container, after *ContainerConfig) ([]Change, []string) {
	before := parseConfig(primary.Labels)
	if before == nil {
		return nil, []string{"config label missing or unreadable"}
	}
	changes := diffConfig(before, after)
	if len(changes) == 0 {
		// Same inputs, different digest: the secret key (seed) changed.
		return nil, []string{"config hash changed (secret key or hash version)"}
	}
	return changes, causesOf(changes, "")
}

// image returns the id of the pull action the client's container depends on
// ("" when the image is present and no pull is due); ok is false when the
// client is blocked (image missing and pullPolicy never).
func (b *builder) image(c *fleet.Client) (string, bool) {
	_, present := b.st.Images[c.Image]
	switch {
	case c.PullPolicy == fleet.PullNever && !present:
		b.conflict(c.Name, c.Image, "image %s is not present locally and pullPolicy is never", c.Image)
		return "", false
	case present && c.PullPolicy != fleet.PullAlways:
		return "", true
	}
	id := "image." + c.Image
	if !b.pulls[c.Image] {
		b.pulls[c.Image] = true
		cause := "image not present locally"
		if present {
			cause = "pullPolicy: always"
		}
		b.plan.Actions = append(b.plan.Actions, Action{
			ID: id, Kind: KindPullImage, Object: c.Image, Image: c.Image,
			Causes: []string{cause}, After: map[string]any{"image": c.Image},
		})
	}
	return id, true
}

// orphans lists (or, with prune, removes) managed containers whose client
// left fleet.yaml. Volumes are never removed here.
func (b *builder) orphans() {
	inSpec := map[string]bool{}
	for _, c := range b.spec.Clients {
		inSpec[c.Name] = true
	}
	prune := b.opt.Prune || b.spec.Prune
	for i := range b.st.Containers {
		ctr := &b.st.Containers[i]
		client := ctr.Labels[observe.LabelClient]
		if !observe.Managed(ctr.Labels, b.spec.Fleet) || client == "" || inSpec[client] || !b.targeted(client) {
			continue
		}
		vol := b.orphanVolume(client)
		if prune && ctr.State == "removing" {
			b.requeue(removingRecheckMS) // the engine is already removing it
			continue
		}
		if !prune {
			b.plan.Orphans = append(b.plan.Orphans, Orphan{Client: client, Container: ctr.Name, Volume: vol})
			continue
		}
		cause := "client removed from fleet.yaml (prune)"
		if vol != "" {
			cause += "; volume " + vol + " is kept"
		}
		b.plan.Actions = append(b.plan.Actions, Action{
			ID: "container." + client + "#" + ctr.Name, Kind: KindRemoveContainer, Client: client,
			Object: ctr.Name, ExistingID: ctr.ID, Causes: []string{cause},
			Before: observedView(ctr),
		})
	}
}

func (b *builder) orphanVolume(client string) string {
	for _, v := range b.st.Volumes {
		if observe.Managed(v.Labels, b.spec.Fleet) && v.Labels[observe.LabelClient] == client {
			return v.Name
		}
	}
	return ""
}
