package monitoring

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/quantabase/fleetctl/pkg/fleet"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// loadCase reads testdata/render/NAME: fleet.yaml and, when present,
// sync.json (the clusters; default: SyncClusters of the spec).
func loadCase(t *testing.T, dir string) Input {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "fleet.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	spec, err := fleet.Parse(data, "fleet.yaml")
	if err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	in := Input{Spec: spec, Sync: SyncClusters(spec)}
	if raw, err := os.ReadFile(filepath.Join(dir, "sync.json")); err == nil {
		in.Sync = nil
		if err := json.Unmarshal(raw, &in.Sync); err != nil {
			t.Fatalf("%s/sync.json: %v", dir, err)
		}
	}
	return in
}

func renderCase(t *testing.T, dir string) []File {
	t.Helper()
	files, err := Render(loadCase(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestGolden renders every case of testdata/render and compares each file
// with want/PATH. go test ./pkg/monitoring -run TestGolden -update rewrites them.
func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/render/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			files := renderCase(t, dir)
			for _, f := range files {
				want := filepath.Join(dir, "want", filepath.FromSlash(f.Path))
				if *update {
					if err := os.MkdirAll(filepath.Dir(want), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(want, f.Data, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				old, err := os.ReadFile(want)
				if err != nil {
					t.Fatalf("%v (run with -update)", err)
				}
				if !bytes.Equal(old, f.Data) {
					t.Errorf("%s differs from %s (run with -update and read the diff)", f.Path, want)
				}
			}
			again := renderCase(t, dir)
			for i := range files {
				if !bytes.Equal(files[i].Data, again[i].Data) {
					t.Errorf("%s: two renders of one spec differ", files[i].Path)
				}
			}
		})
	}
}

// TestAddingChangesOutput: one more client changes the alerts (its desired
// state) and the overview's client list; one more sync cluster changes the
// scrape config, the alerts' clusters and the sync dashboard.
func TestAddingChangesOutput(t *testing.T) {
	byPath := func(fs []File) map[string][]byte {
		m := map[string][]byte{}
		for _, f := range fs {
			m[f.Path] = f.Data
		}
		return m
	}
	base := byPath(renderCase(t, "testdata/render/sync"))
	more := byPath(renderCase(t, "testdata/render/sync-more")) // + client, + cluster
	for _, p := range []string{PrometheusConfig, AlertRules, SyncDashboard, OverviewDashboard} {
		if bytes.Equal(base[p], more[p]) {
			t.Errorf("%s did not change when a client and a sync cluster were added", p)
		}
	}
	if !bytes.Contains(more[AlertRules], []byte("client: gamma")) {
		t.Errorf("alerts.yml has no desired state for the added client gamma")
	}
	if !bytes.Contains(more[PrometheusConfig], []byte("cluster: eu")) {
		t.Errorf("prometheus.yml does not scrape the added cluster eu")
	}
}

func TestBackupMaxAge(t *testing.T) {
	for _, c := range []struct {
		section string
		want    time.Duration
	}{
		{"", fleet.DefaultBackupAge},
		{"backups: {schedule: \"0 3 * * *\"}\n", 25 * time.Hour},
		{"backups: {schedule: \"@every 6h\"}\n", 7 * time.Hour},
		{"backups: {schedule: \"0 3 * * 1,4\"}\n", 4*24*time.Hour + time.Hour},                             // Thu -> Mon
		{"backups: {schedule: \"0 3 1 * *\"}\n", 31*24*time.Hour + time.Hour},                              // the longest month
		{"backups: {schedule: \"0 3 * * *\"}\nmonitoring: {thresholds: {backupAge: 2h}}\n", 2 * time.Hour}, // chosen
	} {
		spec, err := fleet.Parse([]byte("apiVersion: fleetctl/v1\nfleet: b\nsecretKeySeed: ${env:S}\nclients: []\n"+c.section), "fleet.yaml")
		if err != nil {
			t.Fatalf("%q: %v", c.section, err)
		}
		if got := BackupMaxAge(spec); got != c.want {
			t.Errorf("%q: BackupMaxAge = %s, want %s", c.section, got, c.want)
		}
	}
}
