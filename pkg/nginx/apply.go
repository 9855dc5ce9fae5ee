package nginx

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/quantabase/fleetctl/pkg/redact"
	"github.com/quantabase/fleetctl/pkg/resource"
)

// ErrTestFailed wraps nginx's own message when the configuration test fails.
var ErrTestFailed = errors.New("nginx configuration test failed")

// commandTimeout bounds one test or reload command, so a wedged
// `docker exec` cannot hang an apply.
const commandTimeout = 2 * time.Minute

// backup is a file as it was before ApplySites touched it.
type backup struct {
	path    string
	existed bool
	data    []byte
	mode    fs.FileMode
}

// ApplySites writes every change (each file atomically: temp file, then
// rename), runs the test command once and, only when it passes, the reload
// command once, then checks that nginx serves the new files. If anything
// fails before the reload, every file is put back byte for byte as it was
// (files that did not exist are removed) and nginx is not reloaded; a failed
// test returns ErrTestFailed with nginx's output. A reload nginx did not take
// returns ErrReloadNotTaken with nginx's message, after the files were put
// back and nginx reloaded with them (undoReload).
//
// A pending marker (PendingMarker) is kept from the first write until nginx
// has reloaded: if fleetctl dies in between, or the reload fails, the next
// plan sees it and tests and reloads again. With no changes, ApplySites only
// tests and reloads (that retry).
func (s *Sites) ApplySites(ctx context.Context, changes []resource.SiteChange) error {
	// Render everything first: a refused value must write nothing.
	data := make([][]byte, len(changes))
	for i, ch := range changes {
		if !safeName(ch.File) {
			return fmt.Errorf("sites: refusing file name %q", ch.File)
		}
		if ch.Op == resource.SiteDelete {
			continue
		}
		if ch.Site == nil {
			return fmt.Errorf("sites: %s %s without a site", ch.Op, ch.File)
		}
		b, err := Render(*ch.Site)
		if err != nil {
			return fmt.Errorf("sites: %w", err)
		}
		data[i] = b
	}
	backups, err := s.backup(changes)
	if err != nil {
		return err
	}
	marker := filepath.Join(s.Dir, PendingMarker)
	if err := writeAtomic(marker, []byte("fleetctl: site files written, nginx not yet reloaded\n"), 0o644); err != nil {
		return fmt.Errorf("sites: %w", err)
	}
	for i, ch := range changes {
		path := filepath.Join(s.Dir, ch.File)
		if ch.Op == resource.SiteDelete {
			err = os.Remove(path)
			if errors.Is(err, fs.ErrNotExist) {
				err = nil
			}
		} else {
			err = writeAtomic(path, data[i], 0o644)
		}
		if err != nil {
			return s.restore(backups, fmt.Errorf("sites: %s %s: %w", ch.Op, ch.File, err))
		}
	}
	if out, err := run(ctx, s.Test); err != nil {
		return s.restore(backups, fmt.Errorf("%w (every site file was restored and nginx was not reloaded): %s: %v\n%s",
			ErrTestFailed, strings.Join(s.Test, " "), err, out))
	}
	exps, err := s.expectations(changes, data, backups)
	if err != nil {
		return s.restore(backups, err)
	}
	logFrom := s.logSize()
	if out, err := run(ctx, s.Reload); err != nil {
		// The new configuration passed the test, so the files stay: the
		// next apply (or a manual reload) picks them up.
		return fmt.Errorf("nginx reload failed after a successful test (the site files are written; the next apply reloads again): %s: %v\n%s",
			strings.Join(s.Reload, " "), err, out)
	}
	if err := s.verify(ctx, exps, logFrom); err != nil {
		return s.undoReload(ctx, backups, err)
	}
	if err := os.Remove(marker); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("sites: nginx reloaded, but clearing %s failed: %w", PendingMarker, err)
	}
	return nil
}

// expectations is what nginx must answer once it runs the new files: each
// written site its new answer; each removed site no longer its old one.
// With no changes (the retry of a pending reload) every managed file of the
// fleet in the directory is checked.
func (s *Sites) expectations(changes []resource.SiteChange, data [][]byte, backups []backup) ([]expectation, error) {
	var out []expectation
	for i, ch := range changes {
		if ch.Op != resource.SiteDelete {
			if e, ok := expect(ch.File, data[i]); ok {
				out = append(out, e)
			}
		} else if backups[i].existed {
			if e, ok := expect(ch.File, backups[i].data); ok {
				out = append(out, e.removed())
			}
		}
	}
	if len(changes) > 0 {
		return out, nil
	}
	entries, err := os.ReadDir(s.Dir)
	if err != nil {
		return nil, fmt.Errorf("sites: %w", err)
	}
	for _, en := range entries {
		if !en.Type().IsRegular() || !safeName(en.Name()) {
			continue
		}
		b, err := readSmall(filepath.Join(s.Dir, en.Name()))
		if err != nil {
			return nil, fmt.Errorf("sites: %w", err)
		}
		if e, ok := expect(en.Name(), b); ok && parseFile(en.Name(), b).Fleet == s.Fleet {
			out = append(out, e)
		}
	}
	return out, nil
}

// undoReload handles a reload nginx did not take (it still runs what it ran
// before): the previous files are put back byte for byte and nginx is
// reloaded once more, so the directory and nginx agree and a later restart
// of nginx does not load files it cannot run. Only if that fails too does
// the pending marker stay, for the next apply to retry.
func (s *Sites) undoReload(ctx context.Context, backups []backup, cause error) error {
	if len(backups) == 0 {
		return fmt.Errorf("%w (the site files stay as they are and the next apply tries again)", cause)
	}
	marker := filepath.Join(s.Dir, PendingMarker)
	if err := s.restore(backups, cause); err != cause {
		writeAtomic(marker, []byte("fleetctl: restoring site files after a reload nginx did not take failed\n"), 0o644)
		return err
	}
	exps := make([]expectation, 0, len(backups))
	for _, b := range backups {
		if b.existed {
			if e, ok := expect(filepath.Base(b.path), b.data); ok {
				exps = append(exps, e)
			}
		}
	}
	logFrom := s.logSize()
	if out, err := run(ctx, s.Reload); err != nil {
		writeAtomic(marker, []byte("fleetctl: site files restored, nginx not yet reloaded\n"), 0o644)
		return fmt.Errorf("%w; the previous site files were restored, but reloading nginx with them failed (the next apply reloads again): %s: %v\n%s",
			cause, strings.Join(s.Reload, " "), err, out)
	}
	if err := s.verify(ctx, exps, logFrom); err != nil {
		writeAtomic(marker, []byte("fleetctl: site files restored, nginx not yet reloaded\n"), 0o644)
		return fmt.Errorf("%w; the previous site files were restored and nginx reloaded, but it does not serve them either: %v", cause, err)
	}
	return fmt.Errorf("%w; every site file was restored as it was and nginx reloaded with them", cause)
}

// PendingMarker is the dot-file (ignored by nginx's include globs) that says
// site files were written and nginx has not reloaded them yet.
const PendingMarker = ".fleetctl-pending"

// safeName accepts a plain file name in the directory, never a path or a
// dot-file (fleetctl's temp files start with a dot).
func safeName(name string) bool {
	return name != "" && filepath.Base(name) == name && !strings.HasPrefix(name, ".") && !strings.ContainsAny(name, "/\\\x00")
}

// backup records every file the changes touch and refuses to touch a file
// that is not this fleet's (one may have appeared since the plan was made).
func (s *Sites) backup(changes []resource.SiteChange) ([]backup, error) {
	out := make([]backup, 0, len(changes))
	for _, ch := range changes {
		path := filepath.Join(s.Dir, ch.File)
		b := backup{path: path}
		fi, err := os.Lstat(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			out = append(out, b)
			continue
		case err != nil:
			return nil, fmt.Errorf("sites: %w", err)
		case !fi.Mode().IsRegular():
			return nil, fmt.Errorf("sites: %s is not a regular file; refusing to change it", path)
		}
		if b.data, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("sites: %w", err)
		}
		if f := parseFile(ch.File, b.data); !f.Managed || f.Fleet != s.Fleet {
			return nil, fmt.Errorf("sites: %s is not managed by fleet %q (it may have been created since the plan); refusing to change it", path, s.Fleet)
		}
		b.existed, b.mode = true, fi.Mode().Perm()
		out = append(out, b)
	}
	return out, nil
}

// restore puts every backed-up file back as it was and returns cause, with
// any restore failure added to it.
func (s *Sites) restore(backups []backup, cause error) error {
	var errs []error
	for i := len(backups) - 1; i >= 0; i-- {
		b := backups[i]
		var err error
		if b.existed {
			err = writeAtomic(b.path, b.data, b.mode)
		} else if err = os.Remove(b.path); errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("restore %s: %w", b.path, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w; restoring the previous files also failed: %w", cause, errors.Join(errs...))
	}
	if len(backups) > 0 {
		// Every file is as it was before this apply: nothing is pending. (With
		// no backups this was a retry of a pending reload: it stays pending.)
		os.Remove(filepath.Join(s.Dir, PendingMarker))
	}
	return cause
}

// writeAtomic replaces path with data: a temp file in the same directory
// (a dot-file, which nginx's include globs skip), synced, then renamed.
func writeAtomic(path string, data []byte, mode fs.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".fleetctl-*.tmp")
	if err != nil {
		return err
	}
	name := tmp.Name()
	defer os.Remove(name) // a no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(name, path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // make the rename durable; best effort
		d.Close()
	}
	return nil
}

// run executes argv without a shell and returns its combined output.
func run(ctx context.Context, argv []string) (string, error) {
	if len(argv) == 0 {
		return "", errors.New("empty command")
	}
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	// A wrapper whose child keeps the output open must not outlive the timeout.
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	// nginx quotes the configuration it chokes on; a wrapper may print more.
	return redact.FromContext(ctx).String(strings.TrimSpace(string(out))), err
}
