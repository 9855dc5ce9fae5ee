package plan

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/observe"
	"github.com/quantabase/fleetctl/pkg/resource"
)

// KindProvisionSync creates (idempotently) the sync nodes' restricted role
// and the schemas it owns in the target database, before nodes start.
const KindProvisionSync Kind = "provision-sync"

// Sync node constants: what the node containers are made of.
const (
	// LabelSyncNode marks a container as the fleet's sync node NAME.
	LabelSyncNode = "io.fleetctl.sync-node"
	// SyncNodePort is where a node listens inside its container.
	SyncNodePort = 9443
	// SyncDataRoot is where each client's volume is mounted in a node
	// (SyncDataRoot/CLIENT, the node reads CLIENT/webui.db).
	SyncDataRoot = "/data"
	// SyncCanaryDir is where the certification canary's volume
	// (fleet.SyncCanaryVolume) is mounted in every node.
	SyncCanaryDir = "/canary"
	// LabelSyncCanary marks the canary's volume.
	LabelSyncCanary = "io.fleetctl.sync-canary"
	// Env names of the node's secrets (cmd/fleetctl's sync-node reads them).
	SyncEnvURL   = "FLEETCTL_SYNC_URL"
	SyncEnvToken = "FLEETCTL_SYNC_ADMIN_TOKEN"
)

// SyncProvision is what a provision-sync action creates; OwnerURL and
// Password are secrets (never in JSON).
type SyncProvision struct {
	OwnerURL string
	Role     string
	Password string
	// Marker marks the role and schemas as this fleet's (a digest keyed by
	// the seed, never the seed itself; see replicate.Provision).
	Marker     string
	MetaSchema string
	Clients    []string
	// Namespace is sync.namespace: the client schemas are NS_client_NAME.
	Namespace string
}

// syncNodeConfig is the normalized input of a node container (its label):
// a change recreates the node.
type syncNodeConfig struct {
	Image     string            `json:"image"`
	Bind      string            `json:"bind"`
	Port      int               `json:"port"`
	Restart   string            `json:"restart"`
	Cmd       []string          `json:"cmd"`
	Mounts    []resource.Mount  `json:"mounts"`
	Env       map[string]string `json:"env"`
	Sensitive []string          `json:"sensitive,omitempty"`
	// Namespace is sync.namespace (omitted when unset: the nodes of a fleet
	// without one keep their config hash).
	Namespace string `json:"namespace,omitempty"`
}

// syncKey keys the digests of the nodes' sensitive values and is the seed
// of the role's password.
func syncKey(s *fleet.Spec, secrets fleet.Secrets) string {
	return keyedDigest(secrets.Value(s.SecretKeySeed), "sync:"+s.Fleet)
}

// syncProvision is the role and schemas of the fleet's sync.
func syncProvision(s *fleet.Spec, secrets fleet.Secrets) SyncProvision {
	p := SyncProvision{
		OwnerURL:   s.Sync.Target.TargetURL(secrets),
		Role:       fleet.SyncRoleName(s.Fleet, s.Sync.Namespace),
		Password:   keyedDigest(syncKey(s, secrets), "role-password")[:40],
		Marker:     keyedDigest(syncKey(s, secrets), "role-marker")[:32],
		MetaSchema: s.Sync.MetaSchema(),
		Namespace:  s.Sync.Namespace,
	}
	for _, c := range s.SyncedClients() {
		p.Clients = append(p.Clients, c.Name)
	}
	return p
}

// roleURL is the owner's URL with the nodes' role and password: the nodes
// never hold the owner's credentials. A pooler user "postgres.REF" keeps its
// ".REF" (Supabase routes by it).
func roleURL(owner, role, password string) string {
	u, err := url.Parse(owner)
	if err != nil || u.User == nil {
		return owner
	}
	name := role
	if _, ref, ok := strings.Cut(u.User.Username(), "."); ok {
		name += "." + ref
	}
	u.User = url.UserPassword(name, password)
	return u.String()
}

// renderSyncNode is one node's container.
func renderSyncNode(s *fleet.Spec, secrets fleet.Secrets, n fleet.SyncNode, image string, p SyncProvision) (resource.Container, syncNodeConfig, string) {
	sy := s.Sync
	interval, full, lease, renew := sy.Timings()
	strategy, tables := sy.Strategy()
	cmd := []string{"sync-node", "--node-id", n.Name, "--listen", "0.0.0.0:" + strconv.Itoa(SyncNodePort),
		"--meta-schema", p.MetaSchema, "--strategy", strategy,
		"--interval", interval.String(), "--full-interval", full.String(),
		"--lease", lease.String(), "--renew", renew.String()}
	if p.Namespace != "" {
		cmd = append(cmd, "--namespace", p.Namespace)
	}
	tnames := make([]string, 0, len(tables))
	for t := range tables {
		tnames = append(tnames, t)
	}
	slices.Sort(tnames)
	for _, t := range tnames {
		cmd = append(cmd, "--table-strategy", t+"="+tables[t])
	}
	if ttl := sy.CacheTTL.Std(); ttl > 0 && ttl != fleet.DefaultSyncCacheTTL {
		cmd = append(cmd, "--cache-ttl", ttl.String())
	}
	cmd = append(cmd, "--canary", SyncCanaryDir+"/canary.db")
	mounts := []resource.Mount{{Volume: fleet.SyncCanaryVolume(s.Fleet), Target: SyncCanaryDir}}
	for _, c := range s.SyncedClients() {
		dir := SyncDataRoot + "/" + c.Name
		cmd = append(cmd, "--client", c.Name+"="+dir+"/webui.db")
		mounts = append(mounts, resource.Mount{Volume: s.VolumeName(c), Target: dir})
	}
	env := []resource.EnvVar{{Name: SyncEnvURL, Value: roleURL(p.OwnerURL, p.Role, p.Password), Sensitive: true}}
	if !sy.AdminToken.IsZero() {
		env = append(env, resource.EnvVar{Name: SyncEnvToken, Value: secrets.Value(sy.AdminToken), Sensitive: true})
	}
	resource.SortEnv(env)
	key := syncKey(s, secrets)
	cfg := syncNodeConfig{Image: image, Bind: sy.SyncBindAddress(), Port: n.Port, Restart: "unless-stopped",
		Cmd: cmd, Mounts: mounts, Env: map[string]string{}, Namespace: p.Namespace}
	for _, e := range env {
		cfg.Env[e.Name] = "hmac:" + keyedDigest(key, e.Name+"="+e.Value)
		cfg.Sensitive = append(cfg.Sensitive, e.Name)
	}
	raw, _ := json.Marshal(cfg)
	hash := hashVersion + "-" + keyedDigest(key, string(raw))[:24]
	ctr := resource.Container{
		Name: n.Name, Image: image, Env: env, Cmd: cmd, Mounts: mounts,
		BindAddress: cfg.Bind, HostPort: n.Port, ContainerPort: SyncNodePort, RestartPolicy: cfg.Restart,
		Health: resource.Health{Path: "/health", AnyOK: true, Timeout: time.Minute},
		Labels: map[string]string{
			observe.LabelManagedBy:  observe.ManagedByValue,
			observe.LabelFleet:      s.Fleet,
			LabelSyncNode:           n.Name,
			observe.LabelConfigHash: hash,
			LabelConfig:             string(raw),
		},
	}
	return ctr, cfg, hash
}

// syncNodes plans the fleet's sync: each node container, and before any node
// is created, replaced or started, the role and schemas (provision-sync).
// Nothing is planned while the nodes are up to date: a second plan is empty.
func (b *builder) syncNodes() {
	sy := b.spec.Sync
	removed := b.staleSyncNodes()
	if sy == nil {
		return
	}
	if b.st.SelfImage == "" {
		msg := "fleetctl's own image is not available"
		if b.st.SelfImageErr != "" {
			msg += ": " + b.st.SelfImageErr
		}
		b.conflict("", "sync", "sync nodes: %s", msg)
		return
	}
	prov := syncProvision(b.syncSpec(), b.secrets)
	var acts []Action
	for _, n := range sy.NodeList() {
		if a := b.syncNode(n, prov, removed); a != nil {
			acts = append(acts, *a)
		}
	}
	if b.hostSync == nil || !b.hostSync.leave {
		have := func(v string) bool { return b.volumes[v] != nil }
		var p *Problem
		acts, p = withoutNewNodes(acts, missingSyncVolumes(b.syncSpec(), have, b.plan.Actions, ""))
		if p != nil {
			b.plan.Conflicts = append(b.plan.Conflicts, *p)
		}
	}
	if len(acts) == 0 {
		return
	}
	const provID = "sync.provision"
	if v := fleet.SyncCanaryVolume(b.spec.Fleet); b.volumes[v] == nil {
		const volID = "sync.canary-volume"
		b.plan.Actions = append(b.plan.Actions, Action{
			ID: volID, Kind: KindCreateVolume, Object: v,
			Causes: []string{"sync nodes' certification canary (fleetctl certify's drills) missing"},
			Volume: &resource.Volume{Name: v, Labels: map[string]string{observe.LabelManagedBy: observe.ManagedByValue,
				observe.LabelFleet: b.spec.Fleet, LabelSyncCanary: "true"}},
			After: map[string]any{"name": v},
		})
		for i := range acts {
			acts[i].DependsOn = append(acts[i].DependsOn, volID)
		}
	}
	p := prov
	b.plan.Actions = append(b.plan.Actions, Action{
		ID: provID, Kind: KindProvisionSync, Object: p.Role,
		Causes:        []string{"sync nodes to create or start: make sure their role and schemas exist"},
		SyncProvision: &p,
		After: map[string]any{"role": p.Role, "metaSchema": p.MetaSchema,
			"schemas": clientSchemas(sy, p.Clients), "canarySchema": resource.SyncCanarySchema(sy.Namespace), "target": Masked},
	})
	for i := range acts {
		acts[i].DependsOn = append(acts[i].DependsOn, provID)
	}
	b.plan.Actions = append(b.plan.Actions, acts...)
}

// missingSyncVolumes are the synced clients whose volume the nodes would
// mount but that is neither there (have) nor made by one of acts on host
// (its create-volume, or its move-client): a client whose create or move a
// conflict stopped, or held. Docker would make an empty, unlabelled volume
// of that name for a node's mount, which the client would then take as its
// own (the next plan moves it into that volume).
func missingSyncVolumes(s *fleet.Spec, have func(string) bool, acts []Action, host string) []string {
	var out []string
	for _, c := range s.SyncedClients() {
		v := s.VolumeName(c)
		if have(v) || slices.ContainsFunc(acts, func(a Action) bool {
			return a.Host == host && ((a.Kind == KindCreateVolume && a.Object == v) || (a.Kind == KindMoveClient && a.Client == c.Name))
		}) {
			continue
		}
		out = append(out, c.Name)
	}
	return out
}

// withoutNewNodes drops the nodes' creations and replacements while synced
// clients' volumes are missing (missingSyncVolumes), and says why (nil when
// nothing was dropped). A node's start or removal stays: a node that exists
// holds the volumes it mounts.
func withoutNewNodes(acts []Action, missing []string) ([]Action, *Problem) {
	if len(missing) == 0 {
		return acts, nil
	}
	var kept []Action
	var dropped []string
	for _, a := range acts {
		if a.Kind == KindCreateContainer || a.Kind == KindRecreateContainer {
			dropped = append(dropped, a.Object)
			continue
		}
		kept = append(kept, a)
	}
	if len(dropped) == 0 {
		return acts, nil
	}
	what := "the volume of synced client " + missing[0] + " neither exists nor is created by this plan (see the client's conflicts or held actions)"
	if len(missing) > 1 {
		what = "the volumes of synced clients " + strings.Join(missing, ", ") + " neither exist nor are created by this plan (see the clients' conflicts or held actions)"
	}
	return kept, &Problem{Object: "sync", Message: fmt.Sprintf(
		"sync: the nodes mount every synced client's volume, but %s: sync nodes %s are not created or replaced until then (a node would make an empty volume of that name)",
		what, strings.Join(dropped, ", "))}
}

func clientSchemas(sy *fleet.Sync, clients []string) []string {
	out := make([]string, 0, len(clients))
	for _, c := range clients {
		out = append(out, sy.ClientSchema(c))
	}
	return out
}

// staleSyncNodes removes this fleet's sync node containers that fleet.yaml
// no longer names — every one once sync: is deleted — and returns the
// removals' ids by container name. Only the containers go: the target's
// role, schemas and data are left as they are. A plan narrowed to some
// clients removes none. With hosts, a host other than the sync host removes
// every node it holds (sync.host moved), and none is removed while the
// nodes cannot be planned (sync_hosts.go).
func (b *builder) staleSyncNodes() map[string]string {
	hs := b.hostSync
	if len(b.targets) > 0 || (hs != nil && hs.leave) {
		return nil
	}
	want := map[string]bool{}
	if sy := b.spec.Sync; sy != nil {
		for _, n := range sy.NodeList() {
			want[n.Name] = true
		}
	}
	cause := "sync: removed from fleet.yaml"
	switch {
	case b.spec.Sync != nil:
		cause = "sync node removed from sync.nodes"
	case hs != nil && hs.host != "":
		cause = "the sync nodes run on host " + hs.host
	}
	removed := map[string]string{}
	for i := range b.st.Containers {
		ctr := &b.st.Containers[i]
		if !b.isSyncNode(ctr) || want[ctr.Labels[LabelSyncNode]] {
			continue
		}
		if ctr.State == "removing" {
			b.requeue(removingRecheckMS)
			continue
		}
		id := "sync-node." + ctr.Name
		removed[ctr.Name] = id
		b.plan.Actions = append(b.plan.Actions, Action{
			ID: id, Kind: KindRemoveContainer, Object: ctr.Name, ExistingID: ctr.ID,
			Causes: []string{cause}, Before: observedView(ctr),
		})
	}
	return removed
}

// syncNode decides one node's container action (nil: up to date). A port
// held by a node being removed is free once that removal is done.
func (b *builder) syncNode(n fleet.SyncNode, prov SyncProvision, removed map[string]string) *Action {
	ctr, cfg, hash := renderSyncNode(b.syncSpec(), b.secrets, n, b.st.SelfImage, prov)
	cur := b.containers[n.Name]
	prev := b.containers[n.Name+observe.PreviousSuffix]
	a := &Action{ID: "sync-node." + n.Name, Object: n.Name, Start: true,
		PreviousName: n.Name + observe.PreviousSuffix}
	if cur != nil && !(observe.Managed(cur.Labels, b.spec.Fleet) && cur.Labels[LabelSyncNode] == n.Name) {
		b.conflict("", n.Name, "container %s exists and is not this fleet's sync node: rename or remove it", n.Name)
		return nil
	}
	for _, other := range b.ports[n.Port] {
		if id, ok := removed[other]; ok {
			a.DependsOn = append(a.DependsOn, id)
			continue
		}
		if other != n.Name && other != n.Name+observe.PreviousSuffix {
			b.conflict("", n.Name, "sync node %s: host port %d is used by container %s", n.Name, n.Port, other)
			return nil
		}
	}
	if prev != nil {
		a.PreviousID = prev.ID
		a.OldPort, a.OldRestart = observe.PortBinding{HostIP: cfg.Bind, HostPort: n.Port}, cfg.Restart
	}
	if cur != nil {
		a.ExistingID = cur.ID
		a.OldPort, a.OldRestart = observe.PortBinding{HostIP: cfg.Bind, HostPort: n.Port}, cfg.Restart
		if old := parseSyncConfig(cur.Labels); old != nil {
			a.OldPort = observe.PortBinding{HostIP: old.Bind, HostPort: old.Port}
			a.OldRestart = old.Restart
		}
	}
	switch {
	case cur == nil && prev == nil:
		a.Kind, a.Causes = KindCreateContainer, []string{"sync node missing"}
	case cur == nil:
		a.Kind, a.Causes = KindRecreateContainer, []string{"sync node missing; an interrupted recreate left " + prev.Name}
	case cur.State == "removing" || (prev != nil && prev.State == "removing"):
		b.requeue(removingRecheckMS)
		return nil
	case cur.Labels[observe.LabelConfigHash] != hash:
		a.Kind, a.Causes = KindRecreateContainer, []string{"sync node config changed: " + strings.Join(syncConfigDiff(parseSyncConfig(cur.Labels), &cfg), ", ")}
	case cur.State == "dead":
		a.Kind, a.Causes = KindRecreateContainer, []string{"sync node is dead"}
	case prev != nil:
		a.Kind, a.ExistingMatches = KindRecreateContainer, true
		a.Causes = []string{"finish an interrupted recreate: " + prev.Name + " is still kept"}
	case !cur.Running():
		a.Kind, a.Causes = KindStartContainer, []string{"sync node is " + cur.State + ", desired running"}
	default:
		return nil
	}
	a.Container = &ctr
	a.After = syncNodeView(&cfg)
	if cur != nil {
		a.Before = observedView(cur)
	}
	return a
}

func parseSyncConfig(labels map[string]string) *syncNodeConfig {
	var c syncNodeConfig
	if raw, ok := labels[LabelConfig]; !ok || json.Unmarshal([]byte(raw), &c) != nil {
		return nil
	}
	return &c
}

// syncConfigDiff names the fields that differ (values of secrets never).
func syncConfigDiff(before, after *syncNodeConfig) []string {
	if before == nil {
		return []string{"config label missing or unreadable"}
	}
	var out []string
	if before.Namespace != after.Namespace {
		out = append(out, "namespace "+nsName(before.Namespace)+" -> "+nsName(after.Namespace)+
			" (the nodes replicate into "+resource.SyncMetaSchema(after.Namespace)+" and its client schemas; those of "+
			resource.SyncMetaSchema(before.Namespace)+" are kept as they are)")
	}
	if before.Image != after.Image {
		out = append(out, "image "+before.Image+" -> "+after.Image)
	}
	if before.Bind != after.Bind || before.Port != after.Port {
		out = append(out, "port")
	}
	if before.Restart != after.Restart {
		out = append(out, "restartPolicy")
	}
	if !slices.Equal(before.Cmd, after.Cmd) {
		out = append(out, "command")
	}
	if !slices.Equal(before.Mounts, after.Mounts) {
		out = append(out, "mounts")
	}
	out = append(out, envCauses(before.Env, after.Env)...)
	if len(out) == 0 {
		out = append(out, "config hash changed (secret key or hash version)")
	}
	return out
}

func nsName(ns string) string {
	if ns == "" {
		return "(none)"
	}
	return ns
}

func syncNodeView(cfg *syncNodeConfig) map[string]any {
	env := make(map[string]any, len(cfg.Env))
	for k := range cfg.Env {
		env[k] = Masked
	}
	mounts := make([]string, 0, len(cfg.Mounts))
	for _, m := range cfg.Mounts {
		mounts = append(mounts, m.Volume+":"+m.Target)
	}
	return map[string]any{
		"image": cfg.Image, "port": cfg.Bind + ":" + strconv.Itoa(cfg.Port),
		"restartPolicy": cfg.Restart, "command": strings.Join(cfg.Cmd, " "),
		"mounts": mounts, "env": env, "state": "running",
	}
}

// isSyncNode reports whether ctr is one of this fleet's sync nodes: it mounts
// the clients' volumes but opens their databases read-only.
func (b *builder) isSyncNode(ctr *observe.Container) bool {
	return observe.Managed(ctr.Labels, b.spec.Fleet) && ctr.Labels[LabelSyncNode] != ""
}
