package backup

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/quantabase/fleetctl/pkg/fleet"
)

func TestPrune(t *testing.T) {
	// Four backups a day, 6h apart, for 30 days ending 2026-03-31 (a Tuesday).
	var es []Entry
	end := time.Date(2026, 3, 31, 18, 0, 0, 0, time.UTC)
	for i := 30*4 - 1; i >= 0; i-- {
		tm := end.Add(-time.Duration(i) * 6 * time.Hour)
		es = append(es, Entry{ID: fmt.Sprintf("a-%s", tm.Format("20060102T150405Z")), Time: tm})
	}
	ids := func(p []Entry) []string {
		kept := []string{}
		for _, e := range es {
			if !slices.ContainsFunc(p, func(x Entry) bool { return x.ID == e.ID }) {
				kept = append(kept, e.ID)
			}
		}
		return kept
	}
	for _, tc := range []struct {
		name string
		keep fleet.Keep
		want []string
	}{
		{"nothing set keeps all", fleet.Keep{}, nil},
		{"last 2", fleet.Keep{Last: 2}, []string{"a-20260331T120000Z", "a-20260331T180000Z"}},
		{"daily 3", fleet.Keep{Daily: 3}, []string{"a-20260329T180000Z", "a-20260330T180000Z", "a-20260331T180000Z"}},
		{"weekly 2 + last 1", fleet.Keep{Weekly: 2, Last: 1}, []string{"a-20260329T180000Z", "a-20260331T180000Z"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ids(Prune(es, tc.keep, ""))
			if tc.want == nil {
				if len(got) != len(es) {
					t.Fatalf("kept %d of %d", len(got), len(es))
				}
				return
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("kept %v, want %v", got, tc.want)
			}
		})
	}
	// The backup just verified is kept whatever the policy says.
	if got := ids(Prune(es, fleet.Keep{Last: 1}, es[0].ID)); len(got) != 2 || got[0] != es[0].ID {
		t.Fatalf("kept %v, want the newest and %s", got, es[0].ID)
	}
}
