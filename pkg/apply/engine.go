package apply

import (
	"context"
	"time"

	"github.com/quantabase/fleetctl/pkg/observe"
	"github.com/quantabase/fleetctl/pkg/resource"
)

// Engine is the container runtime as apply needs it: one method per API call.
// pkg/docker implements it; unit tests of the executor use a fake.
// Every method is idempotent where the engine allows it: EnsureVolume on an
// existing volume, StopContainer on a stopped one and RemoveContainer on a
// missing one all succeed.
type Engine interface {
	EnsureVolume(ctx context.Context, v resource.Volume) error
	// PullImage pulls ref; it fails with a clear error when no registry answers.
	PullImage(ctx context.Context, ref string) error
	// CreateContainer creates (does not start) c and returns its ID.
	CreateContainer(ctx context.Context, c resource.Container) (string, error)
	StartContainer(ctx context.Context, id string) error
	StopContainer(ctx context.Context, id string, timeout time.Duration) error
	RenameContainer(ctx context.Context, id, name string) error
	// SetRestartPolicy changes an existing container's restart policy.
	SetRestartPolicy(ctx context.Context, id, policy string) error
	// RemoveContainer removes the container, never its volumes.
	RemoveContainer(ctx context.Context, id string) error
	// ContainerState returns "running", "exited", ... or "" when it does not exist.
	ContainerState(ctx context.Context, id string) (string, error)
	// InspectRuntime returns the container's real state (nil when it does
	// not exist): the health gate polls it (pkg/health).
	InspectRuntime(ctx context.Context, id string) (*observe.Runtime, error)
}

// Locker serialises writers of one fleet. Lock blocks up to wait for the lock
// and returns a function that releases it; when the wait runs out the error
// names the holder.
type Locker interface {
	Lock(ctx context.Context, fleet, holder string, wait time.Duration) (unlock func() error, err error)
}
