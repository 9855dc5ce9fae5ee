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
