package backup

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/quantabase/fleetctl/pkg/backup/archive"
	"github.com/quantabase/fleetctl/pkg/docker"
	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/observe"
)

// Progress is reported while a backup or restore streams.
type Progress struct {
	Client  string
	Phase   string // "backup", "verify", "restore"
	Bytes   int64
	Elapsed time.Duration
	Done    bool
}

// Options tune Backup.
type Options struct {
	Version  string         // fleetctl's version, for the manifest
	Progress func(Progress) // called about twice a second, and once when done
	Now      func() time.Time
}

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// Result is one verified backup.
type Result struct {
	Entry    Entry
	Manifest *archive.Manifest
	Pruned   []Entry
	Duration time.Duration
}

// DataDir is where helper containers mount a client's volume.
const DataDir = "/data"

// NewDestination returns the destination fleet.yaml's backups: names.
func NewDestination(spec *fleet.Spec, secrets fleet.Secrets) Destination {
	if b := spec.Backups; b != nil && b.Restic != nil {
		return &Restic{Repository: b.Restic.Repository, Password: secrets.Value(b.Restic.Password), Fleet: spec.Fleet, Mask: secrets.Masker()}
	}
	return Local{Dir: spec.BackupDir()}
}

// Backup takes one verified backup of client: the volume and a consistent
// webui.db, while the client keeps serving; it stores it at dest, reads it
// back to verify every checksum and the database's integrity, lists it, and
// only then prunes older backups by backups.keep. A backup that fails at any
// step is thrown away and prunes nothing.
func Backup(ctx context.Context, cli *docker.Client, spec *fleet.Spec, secrets fleet.Secrets, dest Destination, client string, opt Options) (*Result, error) {
	c := spec.Client(client)
	if c == nil {
		return nil, fmt.Errorf("backup: no client %q in %s", client, spec.Path)
	}
	start := opt.now()
	vol := spec.VolumeName(c)
	st, err := cli.Observe(ctx, spec.Fleet, []string{vol}, nil)
	if err != nil {
		return nil, fmt.Errorf("backup %s: %w", client, err)
	}
	if !slices.ContainsFunc(st.Volumes, func(v observe.Volume) bool { return v.Name == vol }) {
		return nil, fmt.Errorf("backup %s: its volume %s does not exist (nothing to back up; apply first)", client, vol)
	}
	img, err := cli.EnsureSelfImage(ctx)
	if err != nil {
		return nil, fmt.Errorf("backup %s: %w", client, err)
	}
	id := client + "-" + start.UTC().Format("20060102T150405Z")
	pend, err := dest.Create(ctx, client, id)
	if err != nil {
		return nil, fmt.Errorf("backup %s: %w", client, err)
	}
	res, err := take(ctx, cli, spec, secrets, c, st, img, vol, id, start, pend, opt)
	if err != nil {
		derr := pend.Discard(context.WithoutCancel(ctx))
		return nil, errors.Join(fmt.Errorf("backup %s: %w", client, err), derr)
	}
	if keep := spec.Backups; keep != nil && keep.Keep != nil {
		all, err := dest.List(ctx, client)
		if err != nil {
			return res, fmt.Errorf("backup %s: verified as %s, but listing for retention failed: %w", client, res.Entry.ID, err)
		}
		res.Pruned = Prune(all, *keep.Keep, res.Entry.ID)
		if err := dest.Remove(ctx, res.Pruned); err != nil {
			return res, fmt.Errorf("backup %s: verified as %s, but pruning failed: %w", client, res.Entry.ID, err)
		}
	}
	return res, nil
}

func take(ctx context.Context, cli *docker.Client, spec *fleet.Spec, secrets fleet.Secrets, c *fleet.Client, st *observe.State, img, vol, id string, start time.Time, pend Pending, opt Options) (*Result, error) {
	entry, err := json.Marshal(c) // secret fields are references, never values
	if err != nil {
		return nil, err
	}
	var image, imageID string
	for _, ctr := range st.Containers {
		if ctr.Name == spec.ContainerName(c) {
			image, imageID = ctr.Image, ctr.ImageID
		}
	}
	backend := "sqlite"
	if c.Database != nil && c.Database.Backend == fleet.BackendPostgres {
		backend = "postgres"
	}
	dump := ""
	if backend == "postgres" {
		f, err := os.CreateTemp("", "fleetctl-pgdump-*.dump")
		if err != nil {
			return nil, err
		}
		f.Close()
		dump = f.Name()
		defer os.Remove(dump)
		mask := secrets.Masker(c.Database.ConnURL(secrets))
		if err := pgDump(ctx, c.Database.ConnURL(secrets), dump, mask); err != nil {
			return nil, err
		}
	}
	pr, pw := io.Pipe()
	var helperErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		helperErr = cli.RunHelper(ctx, helperRun(spec, c.Name, "backup", img, vol,
			[]string{"agent", "snapshot", DataDir}, nil, pw))
		pw.CloseWithError(helperErr)
	}()
	prog := newMeter(c.Name, "backup", opt.Progress)
	m, err := archive.RelayWith(pr, io.MultiWriter(pend, prog), func(m *archive.Manifest) {
		m.ID, m.Fleet, m.Client, m.CreatedAt = id, spec.Fleet, c.Name, start.UTC()
		m.FleetctlVersion, m.Image, m.ImageID, m.Volume = opt.Version, image, imageID, vol
		m.ClientEntry, m.Backend = entry, backend
	}, dump)
	pr.CloseWithError(errors.New("backup stream closed"))
	wg.Wait()
	switch {
	case helperErr != nil && (err == nil || errors.Is(err, helperErr)):
		return nil, helperErr // the agent failed (its stderr says why)
	case err != nil:
		return nil, err // the stream was wrong; the helper was stopped
	}
	prog.done()
	if _, err := pend.Close(); err != nil {
		return nil, err
	}
	if err := verifyPending(ctx, pend, m, opt); err != nil {
		return nil, err
	}
	m.DurationSeconds = opt.now().Sub(start).Seconds()
	e, err := pend.Finalize(ctx, m)
	if err != nil {
		return nil, err
	}
	return &Result{Entry: e, Manifest: m, Duration: opt.now().Sub(start)}, nil
}

// verifyPending reads the stored archive back: every checksum, and
// integrity_check of its webui.db.
func verifyPending(ctx context.Context, pend Pending, want *archive.Manifest, opt Options) error {
	var rc io.ReadCloser
	var err error
	switch p := pend.(type) {
	case *localPending:
		rc, err = Local{}.Open(ctx, p.e)
	case *resticPending:
		rc, err = p.r.Open(ctx, p.e)
	default:
		return fmt.Errorf("verify: unknown destination %T", pend)
	}
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	defer rc.Close()
	got, err := Verify(ctx, rc, want.Client, opt.Progress)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if len(got.Files) != len(want.Files) || got.TotalBytes != want.TotalBytes {
		return fmt.Errorf("verify: %w: the stored archive holds %d files (%d bytes), %d (%d bytes) were sent",
			archive.ErrCorrupt, len(got.Files), got.TotalBytes, len(want.Files), want.TotalBytes)
	}
	return nil
}

// Verify reads an archive to its end and checks it (see archive.Verify).
func Verify(ctx context.Context, r io.Reader, client string, progress func(Progress)) (*archive.Manifest, error) {
	scratch, err := os.MkdirTemp("", "fleetctl-verify")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(scratch)
	meter := newMeter(client, "verify", progress)
	m, err := archive.Verify(ctx, io.TeeReader(r, meter), scratch)
	if err == nil {
		meter.done()
	}
	return m, err
}

// helperRun is the helper container of one job on one client's volume,
// labelled with the fleet (so tests and operators find it) but not as a
// client container (the planner never sees it as one).
func helperRun(spec *fleet.Spec, client, job, img, vol string, args []string, stdin io.Reader, stdout io.Writer) docker.HelperRun {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return docker.HelperRun{
		Name:   fmt.Sprintf("fleetctl-%s-%s-%s-%s", spec.Fleet, job, client, hex.EncodeToString(b)),
		Image:  img,
		Args:   args,
		Mounts: []docker.HelperMount{{Volume: vol, Target: DataDir}},
		Labels: map[string]string{observe.LabelFleet: spec.Fleet, "io.fleetctl.helper": job, "io.fleetctl.helper-client": client},
		Stdin:  stdin,
		Stdout: stdout,
	}
}

// meter counts bytes and reports progress about twice a second.
type meter struct {
	p     Progress
	f     func(Progress)
	start time.Time
	last  time.Time
}

func newMeter(client, phase string, f func(Progress)) *meter {
	now := time.Now()
	return &meter{p: Progress{Client: client, Phase: phase}, f: f, start: now, last: now}
}

func (m *meter) Write(b []byte) (int, error) {
	m.p.Bytes += int64(len(b))
	if m.f != nil {
		if now := time.Now(); now.Sub(m.last) >= 500*time.Millisecond {
			m.last = now
			m.p.Elapsed = now.Sub(m.start)
			m.f(m.p)
		}
	}
	return len(b), nil
}

func (m *meter) done() {
	if m.f != nil {
		m.p.Elapsed, m.p.Done = time.Since(m.start), true
		m.f(m.p)
	}
}
