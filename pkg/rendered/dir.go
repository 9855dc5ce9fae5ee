package rendered

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/quantabase/fleetctl/pkg/observe"
	"github.com/quantabase/fleetctl/pkg/resource"
)

// PendingMarker is the file, in the directory, that says the configuration
// written was not reloaded yet.
const PendingMarker = ".fleetctl-reload-pending"

// GrafanaMarker is the file, in the directory, that says Grafana's
// provisioning was written and Grafana was not restarted since.
const GrafanaMarker = ".fleetctl-grafana-restart-pending"

// maxFile bounds what is read of one file (rendered files are small).
const maxFile = 8 << 20

// Dir is one directory of rendered files.
type Dir struct {
	Path string
}

// Observe reads the directory: every regular file below it (dot-files
// aside) with its digest and content. A missing directory is empty. The
// path reported is absolute.
func (d Dir) Observe(ctx context.Context) (*observe.MonitoringState, error) {
	abs, err := filepath.Abs(d.Path)
	if err != nil {
		return nil, fmt.Errorf("monitoring dir %s: %w", d.Path, err)
	}
	st := &observe.MonitoringState{Dir: abs, Files: []observe.ObservedFile{}}
	if _, err := os.Lstat(filepath.Join(abs, PendingMarker)); err == nil {
		st.ReloadPending = true
	}
	if _, err := os.Lstat(filepath.Join(abs, GrafanaMarker)); err == nil {
		st.GrafanaRestartPending = true
	}
	err = filepath.WalkDir(abs, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == abs {
				return filepath.SkipAll
			}
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if strings.HasPrefix(e.Name(), ".") && p != abs {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if e.IsDir() {
			if id := DirID(p); id != "" {
				rel, _ := filepath.Rel(abs, p)
				if st.DirIDs == nil {
					st.DirIDs = map[string]string{}
				}
				st.DirIDs[filepath.ToSlash(rel)] = id
			}
			return nil
		}
		if !e.Type().IsRegular() {
			return nil
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		if info.Size() > maxFile {
			return fmt.Errorf("%s: larger than %d bytes, not a rendered file", p, maxFile)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(abs, p)
		sum := sha256.Sum256(data)
		st.Files = append(st.Files, observe.ObservedFile{Path: filepath.ToSlash(rel), Digest: hex.EncodeToString(sum[:]), Data: data})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read monitoring dir %s: %w", abs, err)
	}
	sort.Slice(st.Files, func(i, j int) bool { return st.Files[i].Path < st.Files[j].Path })
	return st, nil
}

// Write writes each change atomically, creating directories as needed
// (0755, files 0644: the containers run as other users and only read).
// With pending, the marker is written first, so a crash between the
// files and the reload is seen by the next observe; without, a marker left
// is removed (the plan restarts Prometheus on the files instead).
//
// With restartGrafana, Grafana's marker is written first likewise, and
// removed by GrafanaRestarted.
func (d Dir) Write(ctx context.Context, changes []resource.FileChange, pending, restartGrafana bool) error {
	if err := os.MkdirAll(d.Path, 0o755); err != nil {
		return fmt.Errorf("create monitoring dir: %w", err)
	}
	if restartGrafana {
		if err := d.writeMarker(GrafanaMarker); err != nil {
			return fmt.Errorf("write Grafana's restart marker: %w", err)
		}
	}
	if pending {
		if err := d.writeMarker(PendingMarker); err != nil {
			return fmt.Errorf("write reload marker: %w", err)
		}
	} else if err := d.Reloaded(); err != nil {
		// No reload due: Prometheus is created, replaced or started on
		// these files, so an earlier apply's marker is stale.
		return err
	}
	for _, c := range changes {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := d.writeOne(c); err != nil {
			return err
		}
	}
	return nil
}

func (d Dir) writeOne(c resource.FileChange) error {
	clean := path.Clean(c.Path)
	if clean != c.Path || path.IsAbs(clean) || clean == "." || strings.HasPrefix(clean, "../") || strings.HasPrefix(path.Base(clean), ".") {
		return fmt.Errorf("write %q: not a plain relative path", c.Path)
	}
	dst := filepath.Join(d.Path, filepath.FromSlash(clean))
	if err := d.mkdirs(path.Dir(clean)); err != nil {
		return fmt.Errorf("write %s: %w", clean, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".fleetctl-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", clean, err)
	}
	defer os.Remove(tmp.Name()) // after the rename: nothing left to remove
	if _, err := tmp.Write(c.Data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", clean, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", clean, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", clean, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", clean, err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("write %s: %w", clean, err)
	}
	return nil
}

// mkdirs creates the directories of rel (slash-separated, below the
// directory) one by one, refusing a symbolic link among them: a write must
// not land outside the directory (Observe does not follow links either).
func (d Dir) mkdirs(rel string) error {
	if rel == "." {
		return nil
	}
	cur := d.Path
	for _, part := range strings.Split(rel, "/") {
		cur = filepath.Join(cur, part)
		info, err := os.Lstat(cur)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := os.Mkdir(cur, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}
		case err != nil:
			return err
		case info.Mode()&fs.ModeSymlink != 0:
			return fmt.Errorf("%s is a symbolic link: fleetctl writes only into real directories below %s", cur, d.Path)
		case !info.IsDir():
			return fmt.Errorf("%s is not a directory", cur)
		}
	}
	return nil
}

// writeMarker writes the pending marker as a new file (a link of that name
// is replaced, never followed).
func (d Dir) writeMarker(name string) error {
	p := filepath.Join(d.Path, name)
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString("written, not yet reloaded or restarted\n"); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Reloaded removes the pending marker (a reload took).
func (d Dir) Reloaded() error {
	if err := os.Remove(filepath.Join(d.Path, PendingMarker)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove reload marker: %w", err)
	}
	return nil
}

// DirID is the identity of the directory at path, "device:inode" (""
// when it is not a directory that can be stat'ed). A bind mount keeps the
// directory it was made on: one replaced at the same path has another.
func DirID(path string) string {
	info, err := os.Lstat(path)
	if err != nil || !info.IsDir() {
		return ""
	}
	sys, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	return strconv.FormatUint(uint64(sys.Dev), 10) + ":" + strconv.FormatUint(sys.Ino, 10)
}

// GrafanaRestarted removes Grafana's marker (it was started on the files).
func (d Dir) GrafanaRestarted() error {
	if err := os.Remove(filepath.Join(d.Path, GrafanaMarker)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove Grafana's restart marker: %w", err)
	}
	return nil
}
