package watch

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/quantabase/fleetctl/pkg/fleet"
)

// reload loads fleet.yaml and its secrets. A valid result replaces the spec
// in use; an invalid one is reported (log, metric, status, /readyz) and the
// last valid spec stays in use, so a half-saved file changes nothing.
func (d *Daemon) reload() {
	spec, secrets, err := d.load()
	if err != nil {
		lines := strings.Split(err.Error(), "\n")
		msg := "fleet.yaml is invalid; keeping the last valid spec, changing nothing it did not declare"
		if d.spec == nil {
			msg = "fleet.yaml is invalid and no valid spec was loaded yet; not reconciling"
		}
		d.invalid = true
		d.log.Error(msg, "file", d.cfg.Path, "errors", lines)
		d.m.specValid.Set(0)
		d.status.update(func(s *Status) { s.SpecValid, s.SpecErrors = false, lines })
		d.watchPaths(d.spec) // keep watching, so fixing the file is seen
		return
	}
	if d.spec != nil && !d.invalid && spec.Digest == d.spec.Digest && maps.Equal(secrets, d.secrets) {
		d.watchPaths(spec) // unchanged (a resync): only make sure the watches are there
		return
	}
	first := d.spec == nil
	d.spec, d.secrets, d.invalid = spec, secrets, false
	d.m.specValid.Set(1)
	now := time.Now()
	d.status.update(func(s *Status) {
		s.Fleet, s.SpecValid, s.SpecErrors, s.SpecLoaded = spec.Fleet, true, nil, now
	})
	d.log.Info("fleet.yaml loaded", "file", d.cfg.Path, "fleet", spec.Fleet, "clients", len(spec.Clients),
		"digest", spec.Digest[:12])
	d.watchPaths(spec)
	if first {
		d.events.Do(func() { go d.watchDocker(d.runCtx, spec.Fleet) })
	}
}

func (d *Daemon) load() (*fleet.Spec, fleet.Secrets, error) {
	spec, err := fleet.Load(d.cfg.Path)
	if err != nil {
		return nil, nil, err
	}
	if d.spec != nil && spec.Fleet != d.spec.Fleet {
		return nil, nil, fmt.Errorf("%s: fleet: changed from %q to %q; restart fleetctl watch to switch fleets",
			d.cfg.Path, d.spec.Fleet, spec.Fleet)
	}
	secrets, err := d.cfg.Resolve(spec)
	if err != nil {
		var se *fleet.SecretError
		if errors.As(err, &se) {
			return nil, nil, fmt.Errorf("%s: %w", d.cfg.Path, err)
		}
		return nil, nil, err
	}
	return spec, secrets, nil
}

// watchPaths watches the directories of fleet.yaml and of every ${file:}
// secret of spec. Directories, not files: an editor that saves by writing a
// temporary file and renaming it over the original replaces the inode a
// file watch would follow.
func (d *Daemon) watchPaths(spec *fleet.Spec) {
	files := map[string]bool{abs(d.cfg.Path): true}
	if spec != nil {
		base := dirOf(spec.Path)
		for _, ref := range spec.Refs() {
			if kind, target, ok := ref.Parse(); ok && kind == "file" {
				if !filepath.IsAbs(target) {
					target = filepath.Join(base, target)
				}
				files[abs(target)] = true
			}
		}
	}
	dirs := map[string]bool{}
	for f := range files {
		dirs[filepath.Dir(f)] = true
	}
	for dir := range dirs {
		// Add is a no-op for a directory already watched, and re-adds one
		// whose watch the kernel dropped (directory removed and re-created).
		if err := d.watcher.Add(dir); err != nil {
			if d.dirs[dir] || !d.warned[dir] {
				d.log.Warn("cannot watch directory; changes there are seen at the next resync", "dir", dir, "error", err.Error())
			}
			d.warned[dir] = true
			delete(dirs, dir)
			continue
		}
		delete(d.warned, dir)
	}
	for dir := range d.dirs {
		if !dirs[dir] {
			_ = d.watcher.Remove(dir)
		}
	}
	d.dirs = dirs
	d.mu.Lock()
	d.files = files
	d.mu.Unlock()
}

// watchFiles forwards changes of the watched files to the loop.
func (d *Daemon) watchFiles(ctx context.Context, w *fsnotify.Watcher) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if ev.Op == fsnotify.Chmod {
				continue
			}
			d.mu.Lock()
			hit := d.files[abs(ev.Name)]
			d.mu.Unlock()
			if hit {
				d.push(trigFile, time.Now())
			}
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			// An overflow loses events: reload to be sure.
			d.log.Warn("file watch error; reloading", "error", err.Error())
			d.push(trigFile, time.Now())
		}
	}
}

// watchDocker follows the fleet's container events, reconnecting with a
// capped backoff; after a reconnect it asks for a pass, since events in the
// gap are lost.
func (d *Daemon) watchDocker(ctx context.Context, fleetName string) {
	delay := time.Second
	for ctx.Err() == nil {
		connected := time.Now()
		evs, errs := d.cfg.Engine.Events(ctx, fleetName)
		err := d.forwardEvents(evs, errs)
		if ctx.Err() != nil {
			return
		}
		if time.Since(connected) > time.Minute {
			delay = time.Second
		}
		d.m.dockerReachable.Set(0)
		d.log.Warn("docker event stream broken; reconnecting", "error", err.Error(), "retry_in_seconds", delay.Seconds())
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, 30*time.Second)
		d.push(trigResync, time.Now())
	}
}

func (d *Daemon) forwardEvents(evs <-chan dockerEvent, errs <-chan error) error {
	for {
		select {
		case err := <-errs:
			return err
		case ev, ok := <-evs:
			if !ok {
				return <-errs
			}
			d.m.dockerEvents.WithLabelValues(ev.Action).Inc()
			d.m.perClient.event(ev.Client, ev.Action)
			d.log.Info("docker event", "client", ev.Client, "container", ev.Name, "event", ev.Action,
				"event_time", ev.Time)
			d.push(trigDocker, ev.Time)
		}
	}
}

func abs(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return filepath.Clean(a)
	}
	return filepath.Clean(p)
}

func dirOf(path string) string {
	if path == "" {
		return ""
	}
	return filepath.Dir(path)
}
