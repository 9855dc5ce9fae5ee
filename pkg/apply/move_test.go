package apply

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/quantabase/fleetctl/pkg/plan"
	"github.com/quantabase/fleetctl/pkg/resource"
)

func moveAction(oldID string, port int) plan.Action {
	a := ctrAction(plan.KindMoveClient, "web", port)
	a.ExistingID = oldID
	a.Volume = &resource.Volume{Name: "web-data"}
	a.Move = &plan.Move{From: "h1", To: "h2", Volume: "web-data", OldRunning: true, Steps: []plan.MoveStep{
		{Step: plan.MoveStepStop}, {Step: plan.MoveStepCopy}, {Step: plan.MoveStepCreate},
		{Step: plan.MoveStepHealth}, {Step: plan.MoveStepSwitch}, {Step: plan.MoveStepRemove}}}
	return a
}

func runMove(t *testing.T, healthy bool, copyErr error) (oldEng, newEng *fakeEngine, err error) {
	t.Helper()
	oldEng, newEng = newFake(), newFake()
	a := moveAction(oldEng.add("web", "running"), healthServer(t, healthy))
	opt := Options{Move: MoveOptions{
		Engine: func(host string) (Engine, error) {
			if host != "h1" {
				return nil, errors.New("no host " + host)
			}
			return oldEng, nil
		},
		Copy: func(context.Context, *plan.Move) error {
			oldEng.log("copy out")
			newEng.log("copy in")
			return copyErr
		},
	}}
	res := Run(context.Background(), newEng, &plan.Plan{Actions: []plan.Action{a}}, opt)
	return oldEng, newEng, res.Err()
}

func TestMoveStopsFirstAndRemovesOldWhenHealthy(t *testing.T) {
	oldEng, newEng, err := runMove(t, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(oldEng.calls, "|"); got != "stop web|copy out|remove web" {
		t.Errorf("old host: %s", got)
	}
	if got := strings.Join(newEng.calls, "|"); got != "volume web-data|copy in|create web|start web" {
		t.Errorf("new host: %s", got)
	}
}

func TestMovePutsTheClientBack(t *testing.T) {
	for _, tc := range []struct {
		name    string
		healthy bool
		copyErr error
		newWant string
	}{
		{"unhealthy", false, nil, "volume web-data|copy in|create web|start web|remove web"},
		{"copy fails", true, errors.New("checksum mismatch"), "volume web-data|copy in"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			oldEng, newEng, err := runMove(t, tc.healthy, tc.copyErr)
			if err == nil || !strings.Contains(err.Error(), "put back on host h1") {
				t.Fatalf("err %v", err)
			}
			if got := strings.Join(oldEng.calls, "|"); got != "stop web|copy out|start web" {
				t.Errorf("old host: %s", got)
			}
			if got := strings.Join(newEng.calls, "|"); got != tc.newWant {
				t.Errorf("new host: %s", got)
			}
		})
	}
}
