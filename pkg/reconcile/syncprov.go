package reconcile

import (
	"context"
	"fmt"

	"github.com/quantabase/fleetctl/pkg/apply"
	"github.com/quantabase/fleetctl/pkg/plan"
	"github.com/quantabase/fleetctl/pkg/replicate"
)

// SyncProvisioner wires pkg/replicate's Provision to the executor's
// provision-sync actions.
type SyncProvisioner struct{}

var _ apply.SyncProvisioner = SyncProvisioner{}

// ProvisionSync implements apply.SyncProvisioner.
func (SyncProvisioner) ProvisionSync(ctx context.Context, p plan.SyncProvision) error {
	err := replicate.Provision{Role: p.Role, Password: p.Password, Marker: p.Marker, MetaSchema: p.MetaSchema,
		Namespace: p.Namespace, Clients: p.Clients}.Apply(ctx, p.OwnerURL)
	if err != nil {
		return fmt.Errorf("provision sync role %s: %w", p.Role, err)
	}
	return nil
}
