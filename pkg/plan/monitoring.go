package plan

import (
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/monitoring"
	"github.com/quantabase/fleetctl/pkg/observe"
	"github.com/quantabase/fleetctl/pkg/resource"
)

// The monitoring deploy (monitoring.deploy: true): Prometheus and Grafana as
// managed containers on the host network, their rendered configuration
// written to monitoring.dir and bind-mounted read-only, their data in
// volumes that are never removed.
const (
	// KindWriteMonitoring writes the rendered files that differ, atomically.
	KindWriteMonitoring Kind = "write-monitoring-files"
	// KindReloadPrometheus asks the running Prometheus to reload its
	// configuration (POST /-/reload) and checks that it took.
	KindReloadPrometheus Kind = "reload-prometheus"

	// LabelMonitoring marks a container or volume as the fleet's
	// "prometheus" or "grafana".
	LabelMonitoring = "io.fleetctl.monitoring"
	// MonitoringFilesID is the ID of the plan's write-monitoring-files action.
	MonitoringFilesID = "monitoring.files"
	// MonitoringReloadID is the ID of the reload-prometheus action.
	MonitoringReloadID = "monitoring.reload"
	// GrafanaEnvPassword is the env var of Grafana's admin password.
	GrafanaEnvPassword = "GF_SECURITY_ADMIN_PASSWORD"
)

const (
	roleProm    = "prometheus"
	roleGrafana = "grafana"
)

// MonitoringService is where one deployed monitoring container listens
// (host network) and the path that says it is ready: one table for the
// planner's health gate, the observer's probes and its port check.
type MonitoringService struct {
	Role       string // prometheus, grafana
	Bind       string
	Port       int
	HealthPath string
}

// MonitoringServices are the deployed Prometheus and Grafana.
func MonitoringServices(m *fleet.Monitoring) []MonitoringService {
	return []MonitoringService{
		{Role: roleProm, Bind: m.Prometheus.BindAddress, Port: m.Prometheus.Port, HealthPath: "/-/ready"},
		{Role: roleGrafana, Bind: m.BindAddress, Port: m.Grafana.Port, HealthPath: "/api/health"},
	}
}

// MonitoringContainerName is the container of role (prometheus, grafana).
func MonitoringContainerName(fleetName, role string) string {
	c, _ := fleet.MonitoringNames(fleetName, role)
	return c
}

// MonitoringVolumeName is the data volume of role.
func MonitoringVolumeName(fleetName, role string) string {
	_, v := fleet.MonitoringNames(fleetName, role)
	return v
}

// monConfig is the normalized input of a monitoring container (its label):
// a change recreates it. The rendered files are not in it: a changed
// prometheus.yml is reloaded, not recreated.
type monConfig struct {
	Image     string            `json:"image"`
	Network   string            `json:"network"`
	Bind      string            `json:"bind"`
	Port      int               `json:"port"`
	Restart   string            `json:"restart"`
	Cmd       []string          `json:"cmd,omitempty"`
	Mounts    []resource.Mount  `json:"mounts"`
	Binds     []resource.Bind   `json:"binds"`
	Env       map[string]string `json:"env,omitempty"`
	Sensitive []string          `json:"sensitive,omitempty"`
}

// monitoringKey keys the digests of the containers' sensitive values.
func monitoringKey(s *fleet.Spec, secrets fleet.Secrets) string {
	return keyedDigest(secrets.Value(s.SecretKeySeed), "monitoring:"+s.Fleet)
}

// loopback is where a service listening on bind is reached from the host.
func loopback(bind string) string {
	if bind == "" || bind == "0.0.0.0" {
		return "127.0.0.1"
	}
	if bind == "::" {
		return "::1"
	}
	return bind
}

// PrometheusURL is where the deployed Prometheus answers.
func PrometheusURL(m *fleet.Monitoring) string {
	return "http://" + net.JoinHostPort(loopback(m.Prometheus.BindAddress), strconv.Itoa(m.Prometheus.Port))
}

// MonitoringBinds are the directories of dir the container of role
// ("prometheus", "grafana") mounts, read-only.
func MonitoringBinds(dir, role string) []resource.Bind {
	if role == roleProm {
		return []resource.Bind{{Source: dir + "/prometheus", Target: "/etc/prometheus", ReadOnly: true}}
	}
	return []resource.Bind{
		{Source: dir + "/grafana/provisioning", Target: "/etc/grafana/provisioning", ReadOnly: true},
		{Source: dir + "/grafana/dashboards", Target: "/etc/grafana/dashboards", ReadOnly: true},
	}
}

// LabelMonitoringMounts records, on a monitoring container, the identity
// (device:inode) of each directory it bind-mounts, as they were when it
// was created: "/etc/prometheus=64769:1234". Set by apply (the directories
// may not exist before the plan's write); a directory replaced on the host
// since is still the old one in the container, so the plan recreates it.
const LabelMonitoringMounts = "io.fleetctl.monitoring-mounts"

// MonitoringMountsLabel is the value of LabelMonitoringMounts for binds,
// with id the identity of a source directory ("" when any is unknown).
func MonitoringMountsLabel(binds []resource.Bind, id func(source string) string) string {
	parts := make([]string, 0, len(binds))
	for _, b := range binds {
		v := id(b.Source)
		if v == "" {
			return ""
		}
		parts = append(parts, b.Target+"="+v)
	}
	return strings.Join(parts, ",")
}

// replacedBind names the directories of container cur that were replaced
// on the host after it was created ("" when none, or nothing is known).
func (b *builder) replacedBind(cur *observe.Container, role, dir string) string {
	had := cur.Labels[LabelMonitoringMounts]
	if b.st.Monitoring == nil || had == "" {
		return ""
	}
	binds := MonitoringBinds(dir, role)
	now := MonitoringMountsLabel(binds, func(src string) string {
		return b.st.Monitoring.DirIDs[strings.TrimPrefix(strings.TrimPrefix(src, dir), "/")]
	})
	if now == "" || now == had {
		return ""
	}
	old := map[string]string{}
	for _, kv := range strings.Split(had, ",") {
		k, v, _ := strings.Cut(kv, "=")
		old[k] = v
	}
	var out []string
	for _, bd := range binds {
		if old[bd.Target] != b.st.Monitoring.DirIDs[strings.TrimPrefix(strings.TrimPrefix(bd.Source, dir), "/")] {
			out = append(out, bd.Source)
		}
	}
	return strings.Join(out, ", ")
}

// renderMonitoring is the container of role, with its config and hash.
func renderMonitoring(s *fleet.Spec, secrets fleet.Secrets, dir, role string) (resource.Container, monConfig, string) {
	m := s.Monitoring
	var svc MonitoringService
	for _, sv := range MonitoringServices(m) {
		if sv.Role == role {
			svc = sv
		}
	}
	cfg := monConfig{Network: "host", Bind: svc.Bind, Port: svc.Port, Restart: "unless-stopped", Env: map[string]string{}}
	var env []resource.EnvVar
	health := resource.Health{AnyOK: true, Timeout: 2 * time.Minute, Path: svc.HealthPath}
	switch role {
	case roleProm:
		cfg.Image = m.Prometheus.Image
		cfg.Cmd = []string{
			"--config.file=/etc/prometheus/prometheus.yml",
			"--storage.tsdb.path=/prometheus",
			"--storage.tsdb.retention.time=" + m.Prometheus.Retention.Std().String(),
			"--web.enable-lifecycle",
			"--web.listen-address=" + net.JoinHostPort(cfg.Bind, strconv.Itoa(cfg.Port)),
		}
		cfg.Mounts = []resource.Mount{{Volume: MonitoringVolumeName(s.Fleet, role), Target: "/prometheus"}}
		cfg.Binds = MonitoringBinds(dir, role)
	case roleGrafana:
		cfg.Image = m.Grafana.Image
		env = []resource.EnvVar{
			{Name: GrafanaEnvPassword, Value: secrets.Value(m.Grafana.AdminPassword), Sensitive: true},
			{Name: "GF_SERVER_HTTP_ADDR", Value: cfg.Bind},
			{Name: "GF_SERVER_HTTP_PORT", Value: strconv.Itoa(cfg.Port)},
			{Name: "GF_PATHS_PROVISIONING", Value: "/etc/grafana/provisioning"},
			{Name: "GF_USERS_ALLOW_SIGN_UP", Value: "false"},
		}
		resource.SortEnv(env)
		cfg.Mounts = []resource.Mount{{Volume: MonitoringVolumeName(s.Fleet, role), Target: "/var/lib/grafana"}}
		cfg.Binds = MonitoringBinds(dir, role)
	}
	key := monitoringKey(s, secrets)
	for _, e := range env {
		if e.Sensitive {
			cfg.Env[e.Name] = "hmac:" + keyedDigest(key, e.Name+"="+e.Value)
			cfg.Sensitive = append(cfg.Sensitive, e.Name)
		} else {
			cfg.Env[e.Name] = e.Value
		}
	}
	raw, _ := json.Marshal(cfg)
	hash := hashVersion + "-" + keyedDigest(key, string(raw))[:24]
	ctr := resource.Container{
		Name: MonitoringContainerName(s.Fleet, role), Image: cfg.Image, Env: env, Cmd: cfg.Cmd,
		Mounts: cfg.Mounts, Binds: cfg.Binds, NetworkMode: cfg.Network,
		BindAddress: cfg.Bind, HostPort: cfg.Port, RestartPolicy: cfg.Restart, Health: health,
		Labels: map[string]string{
			observe.LabelManagedBy:  observe.ManagedByValue,
			observe.LabelFleet:      s.Fleet,
			LabelMonitoring:         role,
			observe.LabelConfigHash: hash,
			LabelConfig:             string(raw),
		},
	}
	return ctr, cfg, hash
}

// monitoring plans the deploy: files, volumes, images, containers, and a
// reload of Prometheus when only its files changed; with deploy off, the
// removal of the containers (never of the volumes or files).
func (b *builder) monitoring() {
	m := b.spec.Monitoring
	if m == nil || !m.Deploy {
		b.monitoringRemoved()
		return
	}
	st := b.st.Monitoring
	if st == nil {
		// Not a warning: nothing of the deploy is known, so the plan must
		// not claim that the fleet matches fleet.yaml.
		msg := "monitoring.deploy is on but its directory " + b.spec.MonitoringDir() + " was not observed; Prometheus and Grafana are not planned"
		if b.st.MonitoringErr != "" {
			msg += " (" + b.st.MonitoringErr + ")"
		}
		b.conflict("", "monitoring", "%s", msg)
		return
	}
	rendered, err := monitoring.Render(monitoring.Input{Spec: b.spec, Sync: monitoring.SyncClusters(b.spec)})
	if err != nil {
		b.conflict("", "monitoring", "monitoring: %v", err)
		return
	}
	changes := fileChanges(st, rendered)
	changed := func(prefix string) bool {
		return slices.ContainsFunc(changes, func(c resource.FileChange) bool { return strings.HasPrefix(c.Path, prefix) })
	}
	var acts []Action
	prom := b.monContainer(roleProm, st.Dir)
	graf := b.monContainer(roleGrafana, st.Dir)
	reload := b.st.Monitoring.ReloadPending || changed("prometheus/")
	if prom != nil || !b.monRunning(roleProm) {
		reload = false // a created, replaced or started Prometheus reads the new files
	}
	// A created, replaced or started Prometheus reads the files: the
	// write (without a reload due) clears a marker left by an earlier apply.
	clearMarker := st.ReloadPending && !reload
	// Grafana reads its datasources at start: a running one is restarted
	// for changed provisioning, or for what an earlier apply wrote and did
	// not restart it for (its marker).
	provisioning := changed("grafana/provisioning/")
	restartGrafana := graf == nil && b.monRunning(roleGrafana) && (provisioning || st.GrafanaRestartPending)
	if len(changes) > 0 || reload || clearMarker {
		causes := []string{fmt.Sprintf("%d rendered monitoring file(s) differ from fleet.yaml", len(changes))}
		switch {
		case len(changes) == 0 && reload:
			causes = []string{"files were written but Prometheus was not reloaded since"}
		case len(changes) == 0:
			causes = []string{"Prometheus starts on the files an earlier apply wrote: clear the reload-pending marker"}
		}
		acts = append(acts, Action{ID: MonitoringFilesID, Kind: KindWriteMonitoring, Object: st.Dir,
			Causes: causes, Files: changes,
			After: map[string]any{"dir": st.Dir, "reload": reload, "restartGrafana": restartGrafana && provisioning}})
	}
	for _, a := range []*Action{prom, graf} {
		if a == nil {
			continue
		}
		if len(changes) > 0 {
			a.DependsOn = append(a.DependsOn, MonitoringFilesID)
		}
		acts = append(acts, *a)
	}
	if reload {
		cause := "prometheus.yml or alerts.yml changed: reload, no restart"
		if !changed("prometheus/") {
			cause = "an earlier apply wrote Prometheus' files and did not reload it"
		}
		acts = append(acts, Action{ID: MonitoringReloadID, Kind: KindReloadPrometheus,
			Object: MonitoringContainerName(b.spec.Fleet, roleProm), DependsOn: []string{MonitoringFilesID},
			Causes: []string{cause},
			After:  map[string]any{"url": PrometheusURL(m), "dir": st.Dir}})
	}
	if restartGrafana {
		// Dashboards it rereads itself.
		ctr, _, _ := renderMonitoring(b.spec, b.secrets, st.Dir, roleGrafana)
		cur := b.containers[ctr.Name]
		a := Action{ID: "monitoring." + roleGrafana, Kind: KindRestartContainer, Object: ctr.Name,
			ExistingID: cur.ID, Container: &ctr, Start: true,
			Causes: []string{"Grafana's provisioning changed: restart (it reads datasources at start)"},
			Before: observedView(cur), After: monView(ctr.Labels)}
		if !provisioning {
			a.Causes = []string{"an earlier apply wrote Grafana's provisioning and did not restart it: restart (it reads datasources at start)"}
		}
		if len(acts) > 0 && acts[0].ID == MonitoringFilesID {
			a.DependsOn = []string{MonitoringFilesID}
		}
		acts = append(acts, a)
	}
	b.plan.Actions = append(b.plan.Actions, acts...)
}

// GrafanaStartsOn is the monitoring dir when a starts this fleet's Grafana
// on the rendered files (its create, recreate, start or restart): apply
// then clears Grafana's restart marker. "" for any other action.
func GrafanaStartsOn(a *Action) string {
	if a.Container == nil || a.Container.Labels[LabelMonitoring] != roleGrafana {
		return ""
	}
	switch a.Kind {
	case KindCreateContainer, KindRecreateContainer, KindStartContainer, KindRestartContainer:
	default:
		return ""
	}
	for _, b := range a.Container.Binds {
		if dir, ok := strings.CutSuffix(b.Source, "/grafana/provisioning"); ok {
			return dir
		}
	}
	return ""
}

// monRunning reports whether this fleet's container of role exists and
// runs (a stranger's container of that name is a conflict, never reloaded).
func (b *builder) monRunning(role string) bool {
	c := b.containers[MonitoringContainerName(b.spec.Fleet, role)]
	return c != nil && c.Running() && observe.Managed(c.Labels, b.spec.Fleet) && c.Labels[LabelMonitoring] == role
}

// fileChanges compares the rendered files with the directory.
func fileChanges(st *observe.MonitoringState, rendered []monitoring.File) []resource.FileChange {
	var out []resource.FileChange
	for _, f := range rendered {
		old := st.File(f.Path)
		switch {
		case old == nil:
			out = append(out, resource.FileChange{Op: resource.SiteCreate, Path: f.Path, Causes: []string{"file missing"}, Data: f.Data})
		case string(old.Data) != string(f.Data):
			out = append(out, resource.FileChange{Op: resource.SiteUpdate, Path: f.Path, Causes: []string{"content differs from fleet.yaml's rendering"},
				Diff: strings.Replace(fleet.Diff(f.Path, old.Data, f.Data), " (edited)\n", " (rendered)\n", 1), Data: f.Data})
		}
	}
	return out
}

// monContainer decides role's container (nil: up to date) and, before it,
// its volume and image.
func (b *builder) monContainer(role, dir string) *Action {
	ctr, cfg, hash := renderMonitoring(b.spec, b.secrets, dir, role)
	name := ctr.Name
	cur, prev := b.containers[name], b.containers[name+observe.PreviousSuffix]
	if cur != nil && !(observe.Managed(cur.Labels, b.spec.Fleet) && cur.Labels[LabelMonitoring] == role) {
		b.conflict("", name, "container %s exists and is not this fleet's %s: rename or remove it", name, role)
		return nil
	}
	vol := MonitoringVolumeName(b.spec.Fleet, role)
	if v := b.volumes[vol]; v != nil && !(observe.Managed(v.Labels, b.spec.Fleet) && v.Labels[LabelMonitoring] == role) {
		owner := "is not fleetctl's"
		if v.Labels[observe.LabelManagedBy] == observe.ManagedByValue {
			owner = fmt.Sprintf("belongs to fleet %q, %s", v.Labels[observe.LabelFleet], orNone(v.Labels[LabelMonitoring], "client "+strconv.Quote(v.Labels[observe.LabelClient])))
		}
		b.conflict("", vol, "volume %s exists and %s, not this fleet's %s data: rename or remove it (its data is not used)", vol, owner, role)
		return nil
	}
	for _, other := range b.ports[cfg.Port] {
		if other != name && other != name+observe.PreviousSuffix {
			b.conflict("", name, "%s: host port %d is used by container %s", role, cfg.Port, other)
			return nil
		}
	}
	for _, p := range b.st.BoundPorts {
		if p.HostPort == cfg.Port && cur == nil && prev == nil {
			b.conflict("", name, "%s: port %s:%d is already bound by a process on the Docker host that is not a container; "+
				"stop it or choose another %s.port (a start would fail with \"address already in use\")", role, orAll(p.HostIP), cfg.Port, role)
			return nil
		}
	}
	if other := b.hostNetworkPort(cfg.Port, name); other != "" {
		b.conflict("", name, "%s: port %d is where container %s listens on the host network", role, cfg.Port, other)
		return nil
	}
	a := &Action{ID: "monitoring." + role, Object: name, Start: true, PreviousName: name + observe.PreviousSuffix,
		OldPort: observe.PortBinding{HostIP: cfg.Bind, HostPort: cfg.Port}, OldRestart: cfg.Restart}
	if prev != nil {
		a.PreviousID = prev.ID
	}
	if cur != nil {
		a.ExistingID = cur.ID
		if old := parseMonConfig(cur.Labels); old != nil {
			a.OldPort = observe.PortBinding{HostIP: old.Bind, HostPort: old.Port}
		}
	}
	switch {
	case cur == nil && prev == nil:
		a.Kind, a.Causes = KindCreateContainer, []string{role + " container missing"}
	case cur == nil:
		a.Kind, a.Causes = KindRecreateContainer, []string{role + " container missing; an interrupted recreate left " + prev.Name}
	case cur.State == "removing" || (prev != nil && prev.State == "removing"):
		b.requeue(removingRecheckMS)
		return nil
	case cur.Labels[observe.LabelConfigHash] != hash:
		a.Kind = KindRecreateContainer
		diff := monConfigDiff(parseMonConfig(cur.Labels), &cfg)
		a.Causes = []string{role + " config changed: " + strings.Join(diff, ", ")}
		if slices.Contains(diff, "env "+GrafanaEnvPassword) && b.volumes[MonitoringVolumeName(b.spec.Fleet, role)] != nil {
			a.Causes = append(a.Causes, "Grafana applies "+GrafanaEnvPassword+" only when its database is new: on the existing volume "+
				MonitoringVolumeName(b.spec.Fleet, role)+" the old admin password stays; after apply, run "+
				"`docker exec "+name+" grafana cli admin reset-admin-password NEW` (the new password)")
		}
	case cur.State == "dead":
		a.Kind, a.Causes = KindRecreateContainer, []string{role + " container is dead"}
	case b.replacedBind(cur, role, dir) != "":
		a.Kind = KindRecreateContainer
		a.Causes = []string{b.replacedBind(cur, role, dir) + " replaced on the host after " + name + " was created: its mount still shows the old directory " +
			"(a reload would read the old files); recreate it on the new one"}
	case prev != nil:
		a.Kind, a.ExistingMatches = KindRecreateContainer, true
		a.Causes = []string{"finish an interrupted recreate: " + prev.Name + " is still kept"}
	case !cur.Running():
		a.Kind, a.Causes = KindStartContainer, []string{role + " is " + cur.State + ", desired running"}
		b.monDown(role, cur, a) // problems.go
	default:
		b.monDown(role, cur, nil) // crash-looping, restarting or failing its probe: reported, not recreated again and again
		return nil
	}
	if a.Kind == KindCreateContainer || (a.Kind == KindRecreateContainer && !a.ExistingMatches) {
		if dep := b.monImage(cfg.Image); dep != "" {
			a.DependsOn = append(a.DependsOn, dep)
		}
	}
	if b.volumes[vol] == nil {
		v := resource.Volume{Name: vol, Labels: map[string]string{
			observe.LabelManagedBy: observe.ManagedByValue, observe.LabelFleet: b.spec.Fleet, LabelMonitoring: role}}
		b.plan.Actions = append(b.plan.Actions, Action{ID: "monitoring." + role + "-volume", Kind: KindCreateVolume,
			Object: vol, Causes: []string{role + " data volume missing"}, Volume: &v, After: map[string]any{"name": vol}})
		a.DependsOn = append(a.DependsOn, "monitoring."+role+"-volume")
	}
	a.Container = &ctr
	a.After = monView(ctr.Labels)
	if cur != nil {
		a.Before = observedView(cur)
	}
	return a
}

// hostNetworkPort names another fleetctl monitoring container (of any
// fleet) that listens on port on the host network: the engine lists no
// published port for it, its config label says where it listens.
func (b *builder) hostNetworkPort(port int, self string) string {
	for i := range b.st.Containers {
		c := &b.st.Containers[i]
		if c.Labels[LabelMonitoring] == "" || c.Name == self || c.Name == self+observe.PreviousSuffix {
			continue
		}
		if cfg := parseMonConfig(c.Labels); cfg != nil && cfg.Network == "host" && cfg.Port == port {
			return c.Name
		}
	}
	return ""
}

// monImage plans the pull of a monitoring image missing locally ("" when it
// is present). Like a client's image with pullPolicy ifNotPresent.
func (b *builder) monImage(ref string) string {
	if _, ok := b.st.Images[ref]; ok {
		return ""
	}
	id := "image." + ref
	if !b.pulls[ref] {
		b.pulls[ref] = true
		b.plan.Actions = append(b.plan.Actions, Action{ID: id, Kind: KindPullImage, Object: ref, Image: ref,
			Causes: []string{"image not present locally"}, After: map[string]any{"image": ref}})
	}
	return id
}

// monitoringRemoved removes the fleet's Prometheus and Grafana containers
// once deploy is off; their volumes and the rendered files are kept.
func (b *builder) monitoringRemoved() {
	why := "monitoring: removed from fleet.yaml"
	if b.spec.Monitoring != nil {
		why = "monitoring.deploy is off"
	}
	for i := range b.st.Containers {
		ctr := &b.st.Containers[i]
		role := ctr.Labels[LabelMonitoring]
		if role == "" || !observe.Managed(ctr.Labels, b.spec.Fleet) {
			continue
		}
		if ctr.State == "removing" {
			b.requeue(removingRecheckMS)
			continue
		}
		b.plan.Actions = append(b.plan.Actions, Action{
			ID: "monitoring." + role + "#" + ctr.Name, Kind: KindRemoveContainer, Object: ctr.Name, ExistingID: ctr.ID,
			Causes: []string{why + ": remove " + role + "; volume " + MonitoringVolumeName(b.spec.Fleet, role) +
				" and the files in " + b.spec.MonitoringDir() + " are kept"},
			Before: observedView(ctr),
		})
	}
}

func parseMonConfig(labels map[string]string) *monConfig {
	var c monConfig
	if raw, ok := labels[LabelConfig]; !ok || json.Unmarshal([]byte(raw), &c) != nil {
		return nil
	}
	return &c
}

// monConfigDiff names the fields that differ (values of secrets never).
func monConfigDiff(before, after *monConfig) []string {
	if before == nil {
		return []string{"config label missing or unreadable"}
	}
	var out []string
	if before.Image != after.Image {
		out = append(out, "image "+before.Image+" -> "+after.Image)
	}
	if before.Network != after.Network {
		out = append(out, "network "+before.Network+" -> "+after.Network)
	}
	if before.Bind != after.Bind || before.Port != after.Port {
		out = append(out, fmt.Sprintf("port %s -> %s", net.JoinHostPort(before.Bind, strconv.Itoa(before.Port)), net.JoinHostPort(after.Bind, strconv.Itoa(after.Port))))
	}
	if before.Restart != after.Restart {
		out = append(out, "restartPolicy")
	}
	for _, f := range flagDiff(before.Cmd, after.Cmd) {
		out = append(out, "flag "+f)
	}
	if !slices.Equal(before.Mounts, after.Mounts) {
		out = append(out, "mounts")
	}
	if !slices.Equal(before.Binds, after.Binds) {
		out = append(out, "binds")
	}
	out = append(out, envCauses(before.Env, after.Env)...)
	if len(out) == 0 {
		out = append(out, "config hash changed (secret key or hash version)")
	}
	return out
}

// flagDiff names each --flag whose value differs ("--web.listen-address").
func flagDiff(before, after []string) []string {
	val := func(args []string) map[string]string {
		m := map[string]string{}
		for _, a := range args {
			k, v, _ := strings.Cut(a, "=")
			m[k] = v
		}
		return m
	}
	bm, am := val(before), val(after)
	var out []string
	for _, a := range after {
		k, _, _ := strings.Cut(a, "=")
		if v, ok := bm[k]; !ok || v != am[k] {
			out = append(out, k)
		}
	}
	for _, a := range before {
		if k, _, _ := strings.Cut(a, "="); !slices.Contains(out, k) {
			if _, ok := am[k]; !ok {
				out = append(out, k)
			}
		}
	}
	return out
}

// monView is the masked view of a monitoring container, from its label.
func monView(labels map[string]string) map[string]any {
	cfg := parseMonConfig(labels)
	if cfg == nil {
		return nil
	}
	env := make(map[string]any, len(cfg.Env))
	for k, v := range cfg.Env {
		if slices.Contains(cfg.Sensitive, k) {
			env[k] = Masked
		} else {
			env[k] = v
		}
	}
	var mounts []string
	for _, m := range cfg.Mounts {
		mounts = append(mounts, m.Volume+":"+m.Target)
	}
	for _, m := range cfg.Binds {
		s := m.Source + ":" + m.Target
		if m.ReadOnly {
			s += ":ro"
		}
		mounts = append(mounts, s)
	}
	v := map[string]any{
		"image": cfg.Image, "port": net.JoinHostPort(cfg.Bind, strconv.Itoa(cfg.Port)) + " (host network)",
		"restartPolicy": cfg.Restart, "mounts": mounts, "state": "running",
	}
	if len(cfg.Cmd) > 0 {
		v["command"] = strings.Join(cfg.Cmd, " ")
	}
	if len(env) > 0 {
		v["env"] = env
	}
	return v
}

// orNone is s, or none when s is "".
func orNone(s, none string) string {
	if s == "" {
		return none
	}
	return s
}
