package apply

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/quantabase/fleetctl/pkg/fleet"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/quantabase/fleetctl/pkg/observe"
	"github.com/quantabase/fleetctl/pkg/resource"
)

// FileCopier reads a file out of a container (the engine's archive API).
type FileCopier interface {
	CopyFileFromContainer(ctx context.Context, id, path string, w io.Writer) (int64, error)
}

// CopyOutDatabase copies webui.db and its -wal, -shm and -journal out of
// container id into local (+ the same suffixes): -journal too, since a
// container killed mid-transaction leaves a hot rollback journal, and a
// copy without it would hold a half-applied transaction. It returns the
// SHA-256 and size of webui.db. The dry run, the preflight and the backup
// all copy out through it; the caller then runs Migrator.PrepareBackup.
func CopyOutDatabase(ctx context.Context, fc FileCopier, id, mountPath, local string, log func(string)) (string, int64, error) {
	var sum string
	var size int64
	for _, sfx := range []string{"", "-wal", "-shm", "-journal"} {
		src := filepath.ToSlash(filepath.Join(mountPath, "webui.db"+sfx))
		f, err := os.OpenFile(local+sfx, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return "", 0, err
		}
		h := sha256.New()
		n, err := fc.CopyFileFromContainer(ctx, id, src, io.MultiWriter(f, h))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if errors.Is(err, fs.ErrNotExist) {
			os.Remove(local + sfx)
			if sfx == "" {
				return "", 0, fmt.Errorf("there is no %s: nothing to migrate", src)
			}
			continue
		}
		if err != nil {
			return "", 0, err
		}
		if sfx == "" {
			sum, size = hex.EncodeToString(h.Sum(nil)), n
		}
		if log != nil {
			log(fmt.Sprintf("copied %s out (%d bytes%s)", src, n, map[bool]string{true: ", sha256 " + sum, false: ""}[sfx == ""]))
		}
	}
	return sum, size, nil
}

// preflight copies the database out of the running client into a
// temporary directory beside the backups and checks it with the target.
func (m *migration) preflight(ctx context.Context) (PreflightResult, error) {
	if err := os.MkdirAll(m.dir, 0o700); err != nil {
		return PreflightResult{}, err
	}
	tmp, err := os.MkdirTemp(m.dir, "preflight-")
	if err != nil {
		return PreflightResult{}, err
	}
	defer os.RemoveAll(tmp)
	local := filepath.Join(tmp, "webui.db")
	if _, _, err := CopyOutDatabase(ctx, m.me, m.a.ExistingID, m.a.Container.MountPath, local, nil); err != nil {
		return PreflightResult{}, fmt.Errorf("copy of the running database: %w", err)
	}
	if err := m.mo.Migrator.PrepareBackup(ctx, local); err != nil {
		return PreflightResult{}, fmt.Errorf("copy of the running database: %w", err)
	}
	return m.mo.Migrator.Preflight(ctx, m.tgt, local)
}

// backup copies webui.db and its -wal/-shm/-journal out of the stopped container into
// the local backup directory, turns the copy into one verified file and puts
// it back into the volume as webui-backup-TS.db. It returns the local path
// and the SHA-256 and size of webui.db as it was in the volume.
func (m *migration) backup(ctx context.Context, ts string) (string, string, int64, error) {
	a := m.a
	if err := os.MkdirAll(m.dir, 0o700); err != nil {
		return "", "", 0, err
	}
	local := filepath.Join(m.dir, "webui-"+ts+".db")
	sum, size, err := CopyOutDatabase(ctx, m.me, a.ExistingID, a.Container.MountPath, local, func(l string) { m.log("%s", l) })
	if err != nil {
		return "", "", 0, fmt.Errorf("%w (volume %s)", err, a.Container.Volume)
	}
	if err := m.mo.Migrator.PrepareBackup(ctx, local); err != nil {
		return "", "", 0, err
	}
	m.log("integrity_check ok; local backup %s", local)
	f, err := os.Open(local)
	if err != nil {
		return "", "", 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", "", 0, err
	}
	name := fmt.Sprintf(volumeBackupFmt, ts)
	if err := m.me.CopyFileToContainer(ctx, a.ExistingID, a.Container.MountPath, name, f, st.Size()); err != nil {
		return "", "", 0, err
	}
	m.log("backup in the volume: %s/%s", a.Container.MountPath, name)
	return local, sum, size, nil
}

// schema starts the client's image once against the target, without the
// client's volume, on an engine-chosen port: the application creates its
// own schema at its own version. It is removed afterwards, also on failure.
func (m *migration) schema(ctx context.Context, name string) error {
	a := m.a
	c := resource.Container{
		Name: name, Image: a.Container.Image, Env: a.Container.Env,
		BindAddress: "127.0.0.1", ContainerPort: a.Container.ContainerPort, Health: a.Container.Health,
		Labels: map[string]string{
			observe.LabelManagedBy: observe.ManagedByValue,
			observe.LabelFleet:     a.Container.Labels[observe.LabelFleet],
			LabelRole:              "migrate-schema",
		},
	}
	if bind := a.Container.BindAddress; bind != "" && bind != "0.0.0.0" && bind != "::" {
		c.BindAddress = bind
	}
	m.log("schema: starting %s once against the target so the application creates its schema", a.Container.Image)
	id, err := m.me.CreateEphemeralContainer(ctx, c)
	if err != nil {
		return err
	}
	defer func() {
		if err := m.r.stopRemove(context.WithoutCancel(ctx), id); err != nil {
			m.log("warning: removing the schema helper %s failed: %v", name, err)
		}
	}()
	if err := m.r.eng.StartContainer(ctx, id); err != nil {
		return err
	}
	port, err := m.me.PublishedPort(ctx, id, c.ContainerPort)
	if err != nil {
		return err
	}
	if port == 0 {
		return fmt.Errorf("the schema helper %s publishes no port", name)
	}
	c.HostPort = port
	if err := m.r.healthy(ctx, name, &c, id); err != nil {
		return err
	}
	m.log("schema: the application started healthy on the target; helper removed")
	return nil
}

func (m *migration) writePending() error {
	m.journal.At = m.now()
	raw, _ := json.Marshal(m.journal)
	// Temp file and rename: a kill mid-write must not leave half a journal.
	path := filepath.Join(m.dir, pendingFile)
	if err := os.WriteFile(path+".tmp", raw, 0o600); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

// undoJournal deletes what a journaled run put into the target: the rows
// its schema step seeded (looked up now when the run died before it
// recorded them) and the tables its copy filled, in one transaction.
func (m *migration) undoJournal(ctx context.Context, p *pending) error {
	seeded := p.Seeded
	if p.Phase == "schema" {
		s, _, err := m.mo.Migrator.Seeded(ctx, m.tgt, p.HeldBefore)
		if err != nil {
			return err
		}
		seeded = s
	}
	return m.mo.Migrator.Undo(ctx, m.tgt, p.Written, seeded)
}

// resumePending undoes what a run killed before its switch left in the
// target. It applies only when the journal names the client's current
// SQLite container: that container never ran on PostgreSQL, so nothing but
// that run can have written the rows it names.
func (m *migration) resumePending(ctx context.Context) error {
	p := filepath.Join(m.dir, pendingFile)
	raw, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var pend pending
	if err := json.Unmarshal(raw, &pend); err != nil || pend.Container != m.a.ExistingID {
		m.log("ignoring %s (it is about another container)", p)
		return os.Remove(p)
	}
	if want := fleet.DatabaseKey(m.tgt.URL); pend.Target != want {
		// Never empty tables of another database than the copy went into.
		return fmt.Errorf("a previous migration of this client wrote into %s and was interrupted, but the target is now %s: "+
			"empty the tables it filled there (%s) and the rows its schema step seeded, or point database.url back at it, then remove %s",
			pend.Target, want, strings.Join(pend.Written, ", "), p)
	}
	switch pend.Phase {
	case "copied", "": // "": a journal of an older fleetctl, written after the copy
		m.log("a previous migration of this client was interrupted after its copy; emptying the %d table(s) it filled before starting over", len(pend.Written))
	default:
		m.log("a previous migration of this client was interrupted after its schema step; deleting the rows the application seeded before starting over")
	}
	if err := m.undoJournal(ctx, &pend); err != nil {
		return fmt.Errorf("undo the interrupted migration: %w", err)
	}
	return os.Remove(p)
}
