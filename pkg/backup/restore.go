package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/quantabase/fleetctl/pkg/backup/archive"
	"github.com/quantabase/fleetctl/pkg/docker"
	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/observe"
	"github.com/quantabase/fleetctl/pkg/plan"
	"github.com/quantabase/fleetctl/pkg/reconcile"
	"github.com/quantabase/fleetctl/pkg/resource"
)

// RestoreOptions tune Restore.
type RestoreOptions struct {
	// As clones the backup into a new client of this name instead.
	As string
	// Confirm sees the steps once the backup verified and before anything
	// changes; an error stops the restore there.
	Confirm  func(steps []string) error
	Progress func(Progress)
	LockWait time.Duration
	Now      func() time.Time
}

// RestoreResult says what a restore did.
type RestoreResult struct {
	Backup         Entry             `json:"backup"`
	Manifest       *archive.Manifest `json:"-"`
	Volume         string            `json:"volume"`                   // the volume restored into
	PreviousVolume string            `json:"previousVolume,omitempty"` // kept, never removed
	Diff           string            `json:"diff,omitempty"`           // the fleet.yaml edit
	ClientEntry    string            `json:"clientEntry,omitempty"`    // --as: the entry to add to fleet.yaml
}

// ErrAborted: Confirm said no.
var ErrAborted = errors.New("restore not confirmed")

// Restore puts backup ref of client back. In order: verify the backup
// (every checksum, integrity_check; nothing is touched if it fails), show the
// steps, extract into a new volume (verified again inside the helper), point
// the client's volume field in fleet.yaml at it and run the normal targeted
// apply under the fleet lock: the client is stopped first, recreated on the
// new volume and health-gated; if it does not come up healthy the previous
// container comes back on the previous volume and fleet.yaml is put back.
// With As, the backup becomes a new volume for a new client whose
// fleet.yaml entry is returned (nothing running changes).
func Restore(ctx context.Context, cli *docker.Client, spec *fleet.Spec, secrets fleet.Secrets, dest Destination, client, ref string, opt RestoreOptions) (*RestoreResult, error) {
	target := client
	if opt.As != "" {
		target = opt.As
		if spec.Client(opt.As) != nil {
			return nil, fmt.Errorf("restore --as %s: client %s is already in %s", opt.As, opt.As, spec.Path)
		}
	} else if spec.Client(client) == nil {
		return nil, fmt.Errorf("restore: no client %q in %s (to clone a backup into a new client, use --as)", client, spec.Path)
	}
	e, err := Find(ctx, dest, client, ref)
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	m, err := verifyEntry(ctx, dest, e, opt.Progress)
	if err != nil {
		return nil, fmt.Errorf("restore: backup %s refused, nothing was changed: %w", e.ID, err)
	}
	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}
	res := &RestoreResult{Backup: e, Manifest: m}
	var steps []string
	if opt.As != "" {
		res.Volume = spec.VolumeName(&fleet.Client{Name: target})
		if res.ClientEntry, err = cloneEntry(spec, m, target); err != nil {
			return nil, fmt.Errorf("restore --as %s: %w", target, err)
		}
		steps = []string{
			fmt.Sprintf("+ create volume %s and restore backup %s into it (%d files, %d bytes), verified again", res.Volume, e.ID, len(m.Files), m.TotalBytes),
			fmt.Sprintf("  print the entry of client %s to add to %s (nothing running changes)", target, spec.Path),
		}
	} else {
		c := spec.Client(client)
		res.PreviousVolume = spec.VolumeName(c)
		res.Volume = volumeBase(res.PreviousVolume) + "-r" + now().UTC().Format("20060102t150405")
		steps = []string{
			fmt.Sprintf("+ create volume %s and restore backup %s into it (%d files, %d bytes), verified again", res.Volume, e.ID, len(m.Files), m.TotalBytes),
			fmt.Sprintf("~ %s: clients[%s].volume: %s", spec.Path, client, res.Volume),
			fmt.Sprintf("-/+ recreate %s on %s: stop first, health-gated; if unhealthy the previous container and volume come back and fleet.yaml is put back", spec.ContainerName(c), res.Volume),
			fmt.Sprintf("  keep volume %s (the previous data; fleetctl never removes it)", res.PreviousVolume),
		}
	}
	st, err := cli.Observe(ctx, spec.Fleet, []string{res.Volume}, nil)
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	if slices.ContainsFunc(st.Volumes, func(v observe.Volume) bool { return v.Name == res.Volume }) {
		return nil, fmt.Errorf("restore: volume %s already exists; nothing was changed", res.Volume)
	}
	if opt.Confirm != nil {
		if err := opt.Confirm(steps); err != nil {
			return nil, err
		}
	}
	if err := extractInto(ctx, cli, spec, dest, e, target, res.Volume, opt.Progress); err != nil {
		return nil, fmt.Errorf("restore: %w (volume %s holds a partial restore; the client was not touched)", err, res.Volume)
	}
	if opt.As != "" {
		return res, nil
	}
	return res, swap(ctx, cli, spec, secrets, client, res, opt)
}

func verifyEntry(ctx context.Context, dest Destination, e Entry, progress func(Progress)) (*archive.Manifest, error) {
	rc, err := dest.Open(ctx, e)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return Verify(ctx, rc, e.Client, progress)
}

// extractInto creates vol for client (labelled as its volume) and restores
// the backup into it with the agent, which checks every checksum again.
func extractInto(ctx context.Context, cli *docker.Client, spec *fleet.Spec, dest Destination, e Entry, client, vol string, progress func(Progress)) error {
	labels := map[string]string{observe.LabelManagedBy: observe.ManagedByValue, observe.LabelFleet: spec.Fleet, observe.LabelClient: client}
	if err := cli.EnsureVolume(ctx, resource.Volume{Name: vol, Labels: labels}); err != nil {
		return err
	}
	img, err := cli.EnsureSelfImage(ctx)
	if err != nil {
		return err
	}
	rc, err := dest.Open(ctx, e)
	if err != nil {
		return err
	}
	defer rc.Close()
	meter := newMeter(client, "restore", progress)
	var out strings.Builder
	err = cli.RunHelper(ctx, helperRun(spec, client, "restore", img, vol, []string{"agent", "extract", DataDir}, io.TeeReader(rc, meter), &out))
	if err != nil {
		return err
	}
	meter.done()
	return nil
}

// swap points the client at the restored volume in fleet.yaml and applies
// that change; on failure fleet.yaml is put back as it was.
func swap(ctx context.Context, cli *docker.Client, spec *fleet.Spec, secrets fleet.Secrets, client string, res *RestoreResult, opt RestoreOptions) error {
	before, err := os.ReadFile(spec.Path)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	after, err := fleet.SetClientField(before, spec.Path, client, "volume", res.Volume, "restored from backup "+res.Backup.ID)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	res.Diff = fleet.Diff(spec.Path, before, after)
	if err := fleet.WriteFileAtomic(spec.Path, after); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	revert := func(cause error) error {
		if werr := fleet.WriteFileAtomic(spec.Path, before); werr != nil {
			return fmt.Errorf("restore: %w; and putting %s back failed: %w (set clients[%s].volume back to %s by hand)", cause, spec.Path, werr, client, res.PreviousVolume)
		}
		return fmt.Errorf("restore: %w; %s was put back, %s stays on volume %s (the restored data is in volume %s)", cause, spec.Path, client, res.PreviousVolume, res.Volume)
	}
	next, err := fleet.Load(spec.Path)
	if err != nil {
		return revert(err)
	}
	r := &reconcile.Runner{Docker: cli, Holder: docker.Holder("fleetctl restore"), LockWait: opt.LockWait}
	out, err := r.Apply(ctx, next, secrets, plan.Options{Targets: []string{client}}, func(p *plan.Plan) error {
		for _, c := range p.Conflicts {
			if c.Client == client {
				return fmt.Errorf("the plan is blocked: %s", c.Message)
			}
		}
		if p.Empty() {
			return errors.New("the plan has nothing to do (the client is not running on the previous volume?)")
		}
		return nil
	})
	if err != nil {
		return revert(err)
	}
	if out.Result != nil {
		if err := out.Result.Err(); err != nil {
			return revert(err)
		}
	}
	return nil
}

// volumeBase strips an earlier restore's suffix, so restores do not pile
// suffixes up (x-data-r20260101t000000 → x-data).
func volumeBase(v string) string {
	if i := strings.LastIndex(v, "-r"); i > 0 && len(v)-i == len("-r20060102t150405") {
		return v[:i]
	}
	return v
}

// cloneEntry renders the fleet.yaml entry of a clone: the backed-up client's
// entry (secrets as references) under the new name, on a free port, without
// its domain (two clients cannot share one) and its volume override.
func cloneEntry(spec *fleet.Spec, m *archive.Manifest, name string) (string, error) {
	var c fleet.Client
	if len(m.ClientEntry) > 0 {
		if err := json.Unmarshal(m.ClientEntry, &c); err != nil {
			return "", fmt.Errorf("the backup's client entry: %w", err)
		}
	}
	c.Name, c.Domain, c.Volume = name, "", ""
	c.SecretKey = "" // a clone gets its own WEBUI_SECRET_KEY
	port := 0
	for _, o := range spec.Clients {
		port = max(port, o.Port)
	}
	c.Port = port + 1
	b, err := yaml.Marshal([]fleet.Client{c})
	if err != nil {
		return "", err
	}
	return string(b), nil
}
