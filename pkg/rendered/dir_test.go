package rendered

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quantabase/fleetctl/pkg/resource"
)

func TestWriteObserveRoundTrip(t *testing.T) {
	ctx := context.Background()
	d := Dir{Path: filepath.Join(t.TempDir(), "mon")}
	st, err := d.Observe(ctx)
	if err != nil || len(st.Files) != 0 || st.ReloadPending || !filepath.IsAbs(st.Dir) {
		t.Fatalf("missing dir: %+v %v", st, err)
	}
	changes := []resource.FileChange{
		{Op: resource.SiteCreate, Path: "prometheus/prometheus.yml", Data: []byte("global: {}\n")},
		{Op: resource.SiteCreate, Path: "grafana/dashboards/a.json", Data: []byte("{}")},
	}
	if err := d.Write(ctx, changes, true, false); err != nil {
		t.Fatal(err)
	}
	// Someone else's file and a dot-file are observed / ignored as such.
	if err := os.WriteFile(filepath.Join(d.Path, "prometheus", ".swp"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err = d.Observe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !st.ReloadPending || len(st.Files) != 2 || st.Files[0].Path != "grafana/dashboards/a.json" ||
		string(st.File("prometheus/prometheus.yml").Data) != "global: {}\n" {
		t.Fatalf("observed %+v", st)
	}
	info, err := os.Stat(filepath.Join(d.Path, "prometheus", "prometheus.yml"))
	if err != nil || info.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v %v (the containers' users must read it)", info.Mode(), err)
	}
	if err := d.Reloaded(); err != nil {
		t.Fatal(err)
	}
	if st, _ = d.Observe(ctx); st.ReloadPending {
		t.Fatal("marker still there after Reloaded")
	}
	if err := d.Reloaded(); err != nil {
		t.Fatalf("Reloaded twice: %v", err)
	}
	left, _ := filepath.Glob(filepath.Join(d.Path, "prometheus", ".prometheus.yml.fleetctl-*"))
	if len(left) != 0 {
		t.Fatalf("temp files left: %v", left)
	}
}

func TestWriteRefusesPathsOutsideTheDir(t *testing.T) {
	d := Dir{Path: t.TempDir()}
	for _, p := range []string{"../x", "/etc/x", "a/../../x", "", ".hidden", "a//b"} {
		err := d.Write(context.Background(), []resource.FileChange{{Op: resource.SiteCreate, Path: p, Data: []byte("x")}}, false, false)
		if err == nil || !strings.Contains(err.Error(), "not a plain relative path") {
			t.Errorf("Write(%q) = %v", p, err)
		}
	}
}

// A write with no reload due (Prometheus is created or restarted on the
// files) removes the marker an earlier apply left.
func TestWriteWithoutReloadClearsMarker(t *testing.T) {
	ctx := context.Background()
	d := Dir{Path: filepath.Join(t.TempDir(), "mon")}
	if err := d.Write(ctx, nil, true, false); err != nil {
		t.Fatal(err)
	}
	if st, err := d.Observe(ctx); err != nil || !st.ReloadPending {
		t.Fatalf("marker not written: %+v %v", st, err)
	}
	if err := d.Write(ctx, nil, false, false); err != nil {
		t.Fatal(err)
	}
	if st, err := d.Observe(ctx); err != nil || st.ReloadPending {
		t.Fatalf("marker left: %+v %v", st, err)
	}
}

// A symbolic link to a directory inside the monitoring dir is not written
// through (Observe does not follow it either).
func TestWriteRefusesSymlinkedDirs(t *testing.T) {
	root := t.TempDir()
	outside := filepath.Join(root, "outside")
	d := Dir{Path: filepath.Join(root, "mon")}
	for _, p := range []string{outside, d.Path} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(d.Path, "prometheus")); err != nil {
		t.Fatal(err)
	}
	err := d.Write(context.Background(), []resource.FileChange{{Op: resource.SiteCreate, Path: "prometheus/prometheus.yml", Data: []byte("x")}}, false, false)
	if err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("Write through a link: %v", err)
	}
	if left, _ := os.ReadDir(outside); len(left) != 0 {
		t.Fatalf("written outside the dir: %v", left)
	}
	// The marker's name as a link to a file outside: replaced, not followed.
	target := filepath.Join(outside, "victim")
	if err := os.WriteFile(target, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(d.Path, PendingMarker)); err != nil {
		t.Fatal(err)
	}
	if err := d.Write(context.Background(), nil, true, false); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(target); string(b) != "keep" {
		t.Fatalf("marker written through a link: %q", b)
	}
}

// Grafana's marker: written with restartGrafana, observed, removed by
// GrafanaRestarted (and not by a write without it).
func TestGrafanaMarker(t *testing.T) {
	ctx := context.Background()
	d := Dir{Path: filepath.Join(t.TempDir(), "mon")}
	if err := d.Write(ctx, nil, false, true); err != nil {
		t.Fatal(err)
	}
	if err := d.Write(ctx, nil, false, false); err != nil {
		t.Fatal(err)
	}
	if st, err := d.Observe(ctx); err != nil || !st.GrafanaRestartPending || st.ReloadPending {
		t.Fatalf("after the writes: %+v %v", st, err)
	}
	if err := d.GrafanaRestarted(); err != nil {
		t.Fatal(err)
	}
	if st, err := d.Observe(ctx); err != nil || st.GrafanaRestartPending {
		t.Fatalf("after GrafanaRestarted: %+v %v", st, err)
	}
}
