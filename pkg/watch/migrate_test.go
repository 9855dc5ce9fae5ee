package watch

import (
	"testing"

	"github.com/quantabase/fleetctl/pkg/plan"
)

func TestDaemonHoldsMigrationsBack(t *testing.T) {
	p := &plan.Plan{Actions: []plan.Action{
		{ID: "container.a", Kind: plan.KindRecreateContainer},
		{ID: "container.b", Kind: plan.KindMigrateDatabase, Client: "b"},
		{ID: "volume.c", Kind: plan.KindCreateVolume},
	}}
	held := heldMigrations(p)
	if len(held) != 1 || held[0].Client != "b" {
		t.Fatalf("held %v", held)
	}
	if len(p.Actions) != 2 || p.Action("container.b") != nil {
		t.Fatalf("the migration is still in the daemon's plan: %v", p.Actions)
	}
}
