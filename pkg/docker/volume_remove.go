package docker

import (
	"context"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"

	"github.com/quantabase/fleetctl/pkg/redact"
)

// RemoveVolume removes the named volume; the engine refuses one a container
// still uses (no force). A volume already gone is not an error.
func (c *Client) RemoveVolume(ctx context.Context, name string) error {
	if err := c.api.VolumeRemove(ctx, name, false); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove volume %s: %w", name, redact.FromContext(ctx).Error(err))
	}
	return nil
}
