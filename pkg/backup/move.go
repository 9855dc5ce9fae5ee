package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/quantabase/fleetctl/pkg/backup/archive"
	"github.com/quantabase/fleetctl/pkg/docker"
	"github.com/quantabase/fleetctl/pkg/fleet"
)

// Move copies a client's volume between two hosts' engines, both through
// the Docker API only: a helper container on the old host takes the
// consistent snapshot of vol (as a backup does), the stream is checked file
// by file against the agent's manifest as it passes through this process,
// and a helper container on the new host extracts it into the volume of the
// same name there (which must exist), checking every checksum again. The old
// volume is only read. It returns the manifest of what was copied.
func Move(ctx context.Context, from, to *docker.Client, fleetName, client, vol string) (*archive.Manifest, error) {
	spec := &fleet.Spec{Fleet: fleetName}
	fromImg, err := from.EnsureSelfImage(ctx)
	if err != nil {
		return nil, fmt.Errorf("copy volume %s: old host: %w", vol, err)
	}
	toImg, err := to.EnsureSelfImage(ctx)
	if err != nil {
		return nil, fmt.Errorf("copy volume %s: new host: %w", vol, err)
	}
	snapR, snapW := io.Pipe()
	arR, arW := io.Pipe()
	var wg sync.WaitGroup
	var snapErr, relayErr error
	var m *archive.Manifest
	wg.Add(2)
	go func() {
		defer wg.Done()
		snapErr = from.RunHelper(ctx, helperRun(spec, client, "move-out", fromImg, vol, []string{"agent", "snapshot", DataDir}, nil, snapW))
		snapW.CloseWithError(snapErr)
	}()
	go func() {
		defer wg.Done()
		m, relayErr = archive.Relay(snapR, arW, func(m *archive.Manifest) {
			m.Fleet, m.Client, m.Volume = fleetName, client, vol
		})
		snapR.CloseWithError(errors.New("move stream closed"))
		if relayErr != nil {
			arW.CloseWithError(relayErr)
		} else {
			arW.Close()
		}
	}()
	var out strings.Builder
	extErr := to.RunHelper(ctx, helperRun(spec, client, "move-in", toImg, vol, []string{"agent", "extract", DataDir}, arR, &out))
	arR.CloseWithError(errors.New("move stream closed"))
	wg.Wait()
	switch {
	case snapErr != nil:
		return nil, fmt.Errorf("copy volume %s: snapshot on the old host: %w", vol, snapErr)
	case relayErr != nil:
		return nil, fmt.Errorf("copy volume %s: %w", vol, relayErr)
	case extErr != nil:
		return nil, fmt.Errorf("copy volume %s: extract on the new host: %w", vol, extErr)
	}
	return m, nil
}
