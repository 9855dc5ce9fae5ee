package docker_test

import (
	"github.com/quantabase/fleetctl/pkg/apply"
	"github.com/quantabase/fleetctl/pkg/docker"
)

// The adapter satisfies apply's interfaces without importing pkg/apply.
var (
	_ apply.Engine = (*docker.Client)(nil)
	_ apply.Locker = (*docker.Client)(nil)
)
