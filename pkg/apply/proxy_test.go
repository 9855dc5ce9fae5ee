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

// fakeProxy records the batches it was given and what the engine had done by then.
type fakeProxy struct {
	mu      sync.Mutex
	eng     *fakeEngine
	batches [][]resource.SiteChange
	seen    []string
	err     error
}

func (p *fakeProxy) ApplySites(_ context.Context, changes []resource.SiteChange) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.batches = append(p.batches, changes)
	p.eng.mu.Lock()
	p.seen = append([]string(nil), p.eng.calls...)
	p.eng.mu.Unlock()
	return p.err
}

func sitesAction(deps ...string) plan.Action {
	return plan.Action{ID: plan.SitesActionID, Kind: plan.KindSyncSites, Object: "/sites", DependsOn: deps,
		Sites: []resource.SiteChange{{Op: resource.SiteCreate, File: "a.conf"}, {Op: resource.SiteDelete, File: "old.conf"}}}
}

func TestSyncSitesRunsOnceAfterItsContainers(t *testing.T) {
	f := newFake()
	px := &fakeProxy{eng: f}
	a := ctrAction(plan.KindCreateContainer, "a", healthServer(t, true))
	res := Run(context.Background(), f, &plan.Plan{Actions: []plan.Action{sitesAction(a.ID), a}}, Options{Proxy: px})
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	if len(px.batches) != 1 || len(px.batches[0]) != 2 {
		t.Fatalf("batches %+v", px.batches)
	}
	if got := strings.Join(px.seen, "|"); got != "create a|start a" {
		t.Errorf("sites applied before the container was up: %s", got)
	}
}

func TestSyncSitesFailureAndMissingProxy(t *testing.T) {
	f := newFake()
	px := &fakeProxy{eng: f, err: errors.New("nginx: [emerg] boom")}
	res := Run(context.Background(), f, &plan.Plan{Actions: []plan.Action{sitesAction()}}, Options{Proxy: px})
	if err := res.Failed[plan.SitesActionID]; err == nil || !strings.Contains(err.Error(), "[emerg] boom") {
		t.Errorf("want nginx's error, got %v", err)
	}
	res = Run(context.Background(), f, &plan.Plan{Actions: []plan.Action{sitesAction()}}, Options{})
	if !errors.Is(res.Failed[plan.SitesActionID], ErrNoProxy) {
		t.Errorf("without a proxy: %v", res.Failed)
	}
}
