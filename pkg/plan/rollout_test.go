package plan

import (
	"strings"
	"testing"

	"github.com/quantabase/fleetctl/pkg/observe"
)

func TestRolloutRecordsTheReplacedImage(t *testing.T) {
	before, bs := loadGoldenSpec(t, "testdata/plan/rollout/before.yaml")
	spec, secrets := loadGoldenSpec(t, "testdata/plan/rollout/fleet.yaml")
	st := appliedState(before, bs)
	for i := range st.Containers {
		st.Containers[i].ImageID = "sha256:old"
	}
	st.Images["fleetctl/webui-standin:dev"] = "sha256:old"
	st.Images["fleetctl/webui-standin:v2"] = "sha256:new"
	p := Build(spec, secrets, st, Options{})
	a := p.Action("container.b")
	if a == nil || a.Container.Labels[LabelPreviousImage] != "sha256:old" || a.Container.Labels[LabelPreviousImageRef] != "fleetctl/webui-standin:dev" {
		t.Fatalf("labels not stamped: %+v", a)
	}
	ctr := observe.Container{Name: "openwebui-b", Labels: a.Container.Labels}
	if ref, err := RollbackImage(&ctr, st.Images); err != nil || ref != "fleetctl/webui-standin:dev" {
		t.Fatalf("rollback = %q, %v", ref, err)
	}
	st.Images["fleetctl/webui-standin:dev"] = "sha256:moved"
	if _, err := RollbackImage(&ctr, st.Images); err == nil || !strings.Contains(err.Error(), "now names") {
		t.Fatalf("a moved tag must not be rolled back to: %v", err)
	}
	if _, err := RollbackImage(&observe.Container{Name: "x"}, st.Images); err == nil {
		t.Fatal("no record, no rollback")
	}
}

// A client backing off after it failed an image (watch excludes it) holds
// that image's rollout: no other client becomes the next canary.
func TestRolloutHeldWhileAMemberBacksOff(t *testing.T) {
	before, bs := loadGoldenSpec(t, "testdata/plan/rollout/before.yaml")
	spec, secrets := loadGoldenSpec(t, "testdata/plan/rollout/fleet.yaml")
	st := appliedState(before, bs)
	for i := range st.Containers {
		st.Containers[i].ImageID = "sha256:old"
	}
	st.Images["fleetctl/webui-standin:pinned"] = "sha256:pinned-rebuilt"
	p := Build(spec, secrets, st, Options{Exclude: []string{"a"}})
	for _, id := range []string{"container.b", "container.c"} {
		if p.Action(id) != nil {
			t.Fatalf("%s planned while the canary backs off", id)
		}
	}
	if len(p.Rollouts) != 0 || len(p.Warnings) != 2 || !strings.Contains(p.Warnings[0], "held: client a failed it") {
		t.Fatalf("rollouts %v warnings %v", p.Rollouts, p.Warnings)
	}
	if p.Action("container.d") == nil {
		t.Fatal("another image's change was held too")
	}
}
