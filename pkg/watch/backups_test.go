package watch

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quantabase/fleetctl/pkg/fleet"
)

// The scheduler takes every client's backup when backups.schedule says,
// records the outcome for the status page and the metrics, and keeps going
// after a failure.
func TestBackupSchedule(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "fleet.yaml")
	yaml := "apiVersion: fleetctl/v1\nfleet: sched\nsecretKeySeed: ${env:SEED}\nbackups:\n  schedule: \"@every 1s\"\n" +
		"clients:\n  - name: ok\n    port: 8081\n  - name: bad\n    port: 8082\n"
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	calls := map[string]int{}
	d := New(Config{
		Path: file,
		Resolve: func(*fleet.Spec) (fleet.Secrets, error) {
			return fleet.Secrets{"${env:SEED}": "seed-value-3b9f0a"}, nil
		},
		Backup: func(_ context.Context, _ *fleet.Spec, _ fleet.Secrets, client string) (BackupOutcome, error) {
			mu.Lock()
			calls[client]++
			mu.Unlock()
			if client == "bad" {
				return BackupOutcome{}, errors.New("volume missing")
			}
			return BackupOutcome{ID: client + "-x", Bytes: 1234, Duration: time.Second}, nil
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.backupLoop(ctx); close(done) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := calls["ok"]
		mu.Unlock()
		if n >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("scheduled backups: %v after 30s", calls)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	<-done
	d.status.update(func(s *Status) { s.Clients = []ClientStatus{{Name: "ok"}, {Name: "bad"}} })
	snap := d.status.snapshot(time.Now())
	for _, c := range snap.Clients {
		switch c.Name {
		case "ok":
			if c.LastBackup.At.IsZero() || c.LastBackup.ID != "ok-x" || c.LastBackup.Error != "" {
				t.Errorf("ok: %+v", c.LastBackup)
			}
		case "bad":
			if !c.LastBackup.At.IsZero() || !strings.Contains(c.LastBackup.Error, "volume missing") {
				t.Errorf("bad: %+v", c.LastBackup)
			}
		}
	}
	if v := gaugeValue(t, d.m, "fleet_backup_size_bytes", "ok"); v != 1234 {
		t.Errorf("fleet_backup_size_bytes{client=ok} = %v", v)
	}
	if v := gaugeValue(t, d.m, "fleet_backup_last_success_timestamp_seconds", "ok"); v < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Errorf("fleet_backup_last_success_timestamp_seconds{client=ok} = %v", v)
	}
	if v := counterValue(t, d.m, "fleet_backup_failures_total", "bad"); v < 1 {
		t.Errorf("fleet_backup_failures_total{client=bad} = %v", v)
	}
}

func gaugeValue(t *testing.T, m *Metrics, name, label string) float64 {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, s := range mf.GetMetric() {
			for _, lp := range s.GetLabel() {
				if lp.GetValue() == label {
					return s.GetGauge().GetValue()
				}
			}
		}
	}
	return 0
}
