package apply

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/quantabase/fleetctl/pkg/plan"
	"github.com/quantabase/fleetctl/pkg/resource"
)

type fakeMonitoring struct {
	mu        sync.Mutex
	calls     []string
	reloadErr error
}

func (m *fakeMonitoring) DirID(path string) string { return "1:" + path }

func (m *fakeMonitoring) GrafanaRestarted(string) error { return nil }

func (m *fakeMonitoring) WriteFiles(_ context.Context, dir string, changes []resource.FileChange, pending, _ bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range changes {
		m.calls = append(m.calls, "write "+dir+"/"+c.Path)
	}
	if pending {
		m.calls = append(m.calls, "pending "+dir)
	}
	return nil
}

func (m *fakeMonitoring) ReloadPrometheus(_ context.Context, url, dir string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, "reload "+url+" "+dir)
	return m.reloadErr
}

func monPlan() *plan.Plan {
	return &plan.Plan{Actions: []plan.Action{
		{ID: plan.MonitoringFilesID, Kind: plan.KindWriteMonitoring, Object: "/m",
			Files: []resource.FileChange{{Op: resource.SiteUpdate, Path: "prometheus/alerts.yml", Data: []byte("x")}},
			After: map[string]any{"dir": "/m", "reload": true}},
		{ID: plan.MonitoringReloadID, Kind: plan.KindReloadPrometheus, Object: "f-prometheus", DependsOn: []string{plan.MonitoringFilesID},
			After: map[string]any{"dir": "/m", "url": "http://127.0.0.1:9090"}},
	}}
}

func TestMonitoringFilesThenReload(t *testing.T) {
	m := &fakeMonitoring{}
	res := Run(context.Background(), newFake(), monPlan(), Options{Monitoring: m})
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	want := "write /m/prometheus/alerts.yml|pending /m|reload http://127.0.0.1:9090 /m"
	if got := strings.Join(m.calls, "|"); got != want {
		t.Fatalf("calls %s, want %s", got, want)
	}
}

func TestMonitoringReloadFailureAndMissingAdapter(t *testing.T) {
	m := &fakeMonitoring{reloadErr: errors.New("reload prometheus: 500")}
	res := Run(context.Background(), newFake(), monPlan(), Options{Monitoring: m})
	if res.Failed[plan.MonitoringReloadID] == nil || len(res.Done) != 1 {
		t.Fatalf("result %+v", res)
	}
	res = Run(context.Background(), newFake(), monPlan(), Options{})
	if err := res.Failed[plan.MonitoringFilesID]; err == nil || !strings.Contains(err.Error(), "no monitoring adapter") {
		t.Fatalf("without an adapter: %v", err)
	}
	if len(res.Skipped) != 1 {
		t.Fatalf("the reload after failed files was not skipped: %+v", res)
	}
}
