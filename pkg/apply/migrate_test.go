package apply

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"strings"
	"testing"

	"github.com/quantabase/fleetctl/pkg/observe"
	"github.com/quantabase/fleetctl/pkg/plan"
	"github.com/quantabase/fleetctl/pkg/resource"
)

// migEngine adds the file and helper-container calls to the fake engine.
type migEngine struct {
	*fakeEngine
	files      map[string]string // path -> content
	schemaPort int
}

func (m *migEngine) CopyFileFromContainer(_ context.Context, id, path string, w io.Writer) (int64, error) {
	c, ok := m.files[path]
	if !ok {
		return 0, fs.ErrNotExist
	}
	n, err := io.WriteString(w, c)
	return int64(n), err
}

func (m *migEngine) CopyFileToContainer(_ context.Context, id, dir, name string, r io.Reader, size int64) error {
	b, _ := io.ReadAll(r)
	m.mu.Lock()
	m.files[dir+"/"+name] = string(b)
	m.log("put %s", name)
	m.mu.Unlock()
	return nil
}

func (m *migEngine) CreateEphemeralContainer(ctx context.Context, c resource.Container) (string, error) {
	return m.CreateContainer(ctx, c)
}

func (m *migEngine) PublishedPort(context.Context, string, int) (int, error) {
	return m.schemaPort, nil
}

type fakeMigrator struct {
	preflightErr, copyErr error
	calls                 []string
}

func (f *fakeMigrator) Preflight(context.Context, MigrationTarget, string) (PreflightResult, error) {
	f.calls = append(f.calls, "preflight")
	return PreflightResult{ServerVersion: "15"}, f.preflightErr
}
func (f *fakeMigrator) Seeded(context.Context, MigrationTarget, []string) (json.RawMessage, int, error) {
	f.calls = append(f.calls, "seeded")
	return json.RawMessage(`{"tables":[{"name":"config","rows":[["1"]]}]}`), 1, nil
}
func (f *fakeMigrator) PrepareBackup(context.Context, string) error {
	f.calls = append(f.calls, "backup")
	return nil
}
func (f *fakeMigrator) Copy(context.Context, MigrationTarget, string, json.RawMessage, func(string)) (*MigrationResult, error) {
	f.calls = append(f.calls, "copy")
	if f.copyErr != nil {
		return nil, f.copyErr
	}
	return &MigrationResult{Written: []string{"chat"}, Report: []byte(`{}`)}, nil
}
func (f *fakeMigrator) Undo(_ context.Context, _ MigrationTarget, w []string, seeded json.RawMessage) error {
	f.calls = append(f.calls, "undo "+strings.Join(w, ",")+" seeded "+string(seeded))
	return nil
}

func migAction(t *testing.T, e *migEngine, newHealthy bool) plan.Action {
	old := e.add("web", "running")
	a := ctrAction(plan.KindMigrateDatabase, "web", healthServer(t, newHealthy))
	a.ExistingID = old
	a.OldPort = observe.PortBinding{HostIP: "127.0.0.1", HostPort: healthServer(t, true)}
	a.Container.MountPath = "/data"
	a.Container.Env = []resource.EnvVar{{Name: "DATABASE_URL", Value: "postgres://u:pw@h/db", Sensitive: true}}
	a.Migration = &plan.Migration{Fleet: "f", From: "sqlite", To: "postgres", TargetURL: "postgres://u:pw@h/db"}
	for _, s := range migrationSteps {
		a.Migration.Steps = append(a.Migration.Steps, plan.MigrationStep{Step: s, Text: s})
	}
	return a
}

func runMigration(t *testing.T, newHealthy bool, m *fakeMigrator) (*migEngine, error) {
	e := &migEngine{fakeEngine: newFake(), files: map[string]string{"/data/webui.db": "SQLITE"}, schemaPort: healthServer(t, true)}
	a := migAction(t, e, newHealthy)
	dir := t.TempDir()
	res := Run(context.Background(), e, &plan.Plan{Actions: []plan.Action{a}},
		Options{Migration: MigrationOptions{Migrator: m, BackupDir: dir}})
	return e, res.Failed["container.web"]
}

func TestMigratePreflightFailureNeverStops(t *testing.T) {
	m := &fakeMigrator{preflightErr: errors.New("password authentication failed")}
	e, err := runMigration(t, true, m)
	if err == nil || !strings.Contains(err.Error(), "preflight") || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("err %v", err)
	}
	for _, c := range e.calls {
		if strings.HasPrefix(c, "stop web") && c != "stop web-fleetctl-schema" {
			t.Fatalf("the client was stopped: %v", e.calls)
		}
	}
}

func TestMigrateCopyFailureRestartsSQLite(t *testing.T) {
	m := &fakeMigrator{copyErr: errors.New("server closed the connection")}
	e, err := runMigration(t, true, m)
	if err == nil || !strings.Contains(err.Error(), "running on SQLite again, healthy") {
		t.Fatalf("err %v", err)
	}
	// Nothing committed: no table to empty, only the schema step's seeded rows.
	if got := strings.Join(m.calls, "|"); got != `backup|preflight|backup|seeded|copy|undo  seeded {"tables":[{"name":"config","rows":[["1"]]}]}` {
		t.Fatalf("migrator calls after an uncommitted copy: %s", got)
	}
	if e.files["/data/webui.db"] != "SQLITE" {
		t.Fatal("webui.db modified")
	}
	if len(e.containers) != 1 {
		t.Fatalf("containers left: %v", e.calls)
	}
	for _, c := range e.containers {
		if c.name != "web" || c.state != "running" {
			t.Fatalf("old container %+v", c)
		}
	}
}

func TestMigrateSwitchFailureUndoesAndRestores(t *testing.T) {
	m := &fakeMigrator{}
	e, err := runMigration(t, false, m)
	if err == nil || !strings.Contains(err.Error(), "switch failed") || !strings.Contains(err.Error(), "empty again") {
		t.Fatalf("err %v", err)
	}
	if got := strings.Join(m.calls, "|"); got != `backup|preflight|backup|seeded|copy|undo chat seeded {"tables":[{"name":"config","rows":[["1"]]}]}` {
		t.Fatalf("migrator calls %s", got)
	}
	for _, c := range e.containers {
		if c.name != "web" || c.state != "running" {
			t.Fatalf("old container %+v (%v)", c, e.calls)
		}
	}
}

// The executor runs the plan's steps; a list it does not know is refused
// before anything happens.
func TestMigrateRefusesUnknownSteps(t *testing.T) {
	m := &fakeMigrator{}
	e := &migEngine{fakeEngine: newFake(), files: map[string]string{"/data/webui.db": "SQLITE"}, schemaPort: healthServer(t, true)}
	a := migAction(t, e, true)
	a.Migration.Steps = a.Migration.Steps[1:] // no preflight
	res := Run(context.Background(), e, &plan.Plan{Actions: []plan.Action{a}}, Options{Migration: MigrationOptions{Migrator: m, BackupDir: t.TempDir()}})
	if err := res.Failed["container.web"]; err == nil || !strings.Contains(err.Error(), "not the ones this fleetctl runs") || len(m.calls) != 0 {
		t.Fatalf("err %v, calls %v", err, m.calls)
	}
}

func TestMigrateSuccessRecordsInVolume(t *testing.T) {
	m := &fakeMigrator{}
	e, err := runMigration(t, true, m)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := e.files["/data/"+VolumeRecordFile]; !ok {
		t.Fatalf("no record in the volume: %v", e.calls)
	}
	var backup bool
	for p := range e.files {
		backup = backup || strings.HasPrefix(p, "/data/webui-backup-")
	}
	if !backup {
		t.Fatal("no backup in the volume")
	}
}
