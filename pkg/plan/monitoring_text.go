package plan

import (
	"strings"

	"github.com/quantabase/fleetctl/pkg/observe"
	"github.com/quantabase/fleetctl/pkg/resource"
)

// maxDiffLines bounds the diff printed per file (the JSON has all of it).
const maxDiffLines = 60

// monitoring prints the monitoring deploy's own kinds (false: not one).
func (t *textWriter) monitoring(a *Action) bool {
	switch a.Kind {
	case KindWriteMonitoring:
		t.printf("  %s files %s: write atomically (mounted read-only by Prometheus and Grafana)\n", a.Kind.Symbol(), a.Object)
		if len(a.Files) == 0 {
			for _, c := range a.Causes {
				t.printf("      # %s\n", c)
			}
		}
		for _, f := range a.Files {
			t.printf("      %s %s: %s\n", f.Op.Symbol(), f.Path, strings.Join(f.Causes, "; "))
			lines := strings.Split(strings.TrimSuffix(f.Diff, "\n"), "\n")
			if f.Diff == "" {
				lines = nil
			}
			for i, l := range lines {
				if i == maxDiffLines {
					t.printf("          ... %d more line(s) (plan --json has the whole diff)\n", len(lines)-i)
					break
				}
				t.printf("          %s\n", l)
			}
		}
		t.printf("\n")
		return true
	case KindReloadPrometheus:
		t.printf("  %s reload prometheus %s: POST %v/-/reload (no restart), then check that the reload took\n",
			a.Kind.Symbol(), a.Object, a.After["url"])
		for _, c := range a.Causes {
			t.printf("      # %s\n", c)
		}
		t.printf("\n")
		return true
	}
	return false
}

// countFiles adds a monitoring files or reload action to the summary.
func countFiles(s *Summary, a Action) {
	if a.Kind == KindReloadPrometheus || len(a.Files) == 0 {
		s.Change++
		return
	}
	for _, f := range a.Files {
		if f.Op == resource.SiteCreate {
			s.Add++
		} else {
			s.Change++
		}
	}
}

// relevantMonitoring adds what the monitoring deploy reads to the parts of
// the snapshot a saved plan is checked against.
func (b *builder) relevantMonitoring(names map[string]bool, ports map[int]bool, images map[string]bool) {
	m := b.spec.Monitoring
	for _, role := range []string{roleProm, roleGrafana} {
		n := MonitoringContainerName(b.spec.Fleet, role)
		names[n], names[n+observe.PreviousSuffix] = true, true
	}
	if m == nil || !m.Deploy {
		return
	}
	ports[m.Prometheus.Port], ports[m.Grafana.Port] = true, true
	images[m.Prometheus.Image], images[m.Grafana.Image] = true, true
}
