package plan

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/quantabase/fleetctl/pkg/observe"
)

func TestRoleURL(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://owner:pw@db:5432/app?sslmode=disable":                          "postgres://fleetctl_sync_x:rolepw@db:5432/app?sslmode=disable",
		"postgresql://postgres.abcd:pw@aws-0-eu.pooler.supabase.com:6543/postgres": "postgresql://fleetctl_sync_x.abcd:rolepw@aws-0-eu.pooler.supabase.com:6543/postgres",
	} {
		if got := roleURL(in, "fleetctl_sync_x", "rolepw"); got != want {
			t.Errorf("roleURL(%s) = %s, want %s", in, got, want)
		}
	}
}

// The derived role password and the nodes' URL never reach the plan's
// output; the executor gets them.
func TestSyncPlanHidesDerivedSecrets(t *testing.T) {
	spec, secrets := loadGoldenSpec(t, "testdata/plan/sync-create/fleet.yaml")
	st := &observe.State{Fleet: spec.Fleet, Images: map[string]string{}, SelfImage: goldenSelfImage}
	p := Build(spec, secrets, st, Options{})
	prov := p.Action("sync.provision")
	if prov == nil || prov.SyncProvision == nil || prov.SyncProvision.Password == "" || len(prov.SyncProvision.Marker) != 32 {
		t.Fatalf("no provision-sync action with a password and a marker: %+v", prov)
	}
	if m := prov.SyncProvision.Marker; strings.Contains(prov.SyncProvision.Password, m) || strings.Contains(m, secrets.Value(spec.SecretKeySeed)) {
		t.Fatal("the marker is the password or shows the seed")
	}
	node := p.Action("sync-node.openwebui-sync-node-a")
	if node == nil || node.Container == nil || !slices.Equal(node.DependsOn, []string{"sync.canary-volume", "sync.provision"}) {
		t.Fatalf("node action: %+v", node)
	}
	if v := p.Action("sync.canary-volume"); v == nil || v.Volume == nil || v.Volume.Name != "golden-sync-canary" ||
		v.Volume.Labels[LabelSyncCanary] != "true" || v.Volume.Labels[observe.LabelFleet] != "golden" {
		t.Fatalf("canary volume action: %+v", v)
	}
	url := ""
	for _, e := range node.Container.Env {
		if e.Name == SyncEnvURL {
			url = e.Value
		}
	}
	if !strings.Contains(url, prov.SyncProvision.Password) || !strings.HasPrefix(url, "postgres://fleetctl_sync_golden:") {
		t.Fatalf("node URL does not use the role: %s", url)
	}
	var text, js bytes.Buffer
	if err := p.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := p.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{text.String(), js.String()} {
		if strings.Contains(out, prov.SyncProvision.Password) || strings.Contains(out, prov.SyncProvision.Marker) {
			t.Fatal("plan output holds the role's password or marker")
		}
	}
	// Without fleetctl's own image the nodes are a conflict, not a crash.
	st.SelfImage, st.SelfImageErr = "", "binary is dynamically linked"
	if p := Build(spec, secrets, st, Options{}); len(p.Conflicts) != 1 || p.Action("sync.provision") != nil {
		t.Fatalf("conflicts %+v", p.Conflicts)
	}
}

// Deleting sync: removes the node containers and nothing else: no action
// touches the target, a plan narrowed to some clients removes none, and
// once they are gone the plan is empty.
func TestSyncRemovedRemovesOnlyNodes(t *testing.T) {
	before, bs := loadGoldenSpec(t, "testdata/plan/sync-removed/before.yaml")
	spec, secrets := loadGoldenSpec(t, "testdata/plan/sync-removed/fleet.yaml")
	st := appliedState(before, bs)
	p := Build(spec, secrets, st, Options{})
	var removed []string
	for _, a := range p.Actions {
		if a.Kind != KindRemoveContainer || a.ExistingID == "" || a.SyncProvision != nil {
			t.Fatalf("unexpected action %+v", a)
		}
		removed = append(removed, a.Object)
	}
	if strings.Join(removed, ",") != "openwebui-sync-node-a,openwebui-sync-node-b" {
		t.Errorf("removed %v", removed)
	}
	if p := Build(spec, secrets, st, Options{Targets: []string{"acme-corp"}}); !p.Empty() {
		t.Errorf("a targeted plan acts on the sync nodes: %+v", p.Actions)
	}
	var kept []observe.Container
	for _, c := range st.Containers {
		if c.Labels[LabelSyncNode] == "" {
			kept = append(kept, c)
		}
	}
	st.Containers = kept
	if p := Build(spec, secrets, st, Options{}); !p.Empty() {
		t.Errorf("plan after the removal: %+v", p.Actions)
	}
}

// A namespaced fleet's provisioning and nodes name its schemas, and once
// applied its plan is empty (the namespace is part of the nodes' config).
func TestSyncNamespacePlan(t *testing.T) {
	spec, secrets := loadGoldenSpec(t, "testdata/plan/sync-namespace/fleet.yaml")
	p := Build(spec, secrets, &observe.State{Fleet: spec.Fleet, Images: map[string]string{}, SelfImage: goldenSelfImage}, Options{})
	prov := p.Action("sync.provision").SyncProvision
	if prov.MetaSchema != "blue_sync_metadata" || prov.Namespace != "blue" {
		t.Errorf("provision %+v", prov)
	}
	cmd := strings.Join(p.Action("sync-node.openwebui-sync-node-a").Container.Cmd, " ")
	if !strings.Contains(cmd, "--meta-schema blue_sync_metadata") || !strings.Contains(cmd, "--namespace blue") {
		t.Errorf("node command %s", cmd)
	}
	if p := Build(spec, secrets, appliedState(spec, secrets), Options{}); !p.Empty() {
		t.Errorf("second plan: %+v", p.Actions)
	}
}
