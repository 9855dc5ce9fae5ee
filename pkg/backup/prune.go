package backup

import (
	"fmt"
	"time"

	"github.com/quantabase/fleetctl/pkg/fleet"
)

// Prune returns the entries of one client that keep does not keep, oldest
// first. keepID (the backup just verified) is always kept. A policy of all
// zeros keeps everything. Days are UTC days; weeks are ISO weeks.
func Prune(es []Entry, keep fleet.Keep, keepID string) []Entry {
	if keep.Last == 0 && keep.Daily == 0 && keep.Weekly == 0 {
		return nil
	}
	kept := map[int]bool{}
	// newest first
	order := make([]int, len(es))
	for i := range es {
		order[i] = len(es) - 1 - i
	}
	for n, i := range order {
		if n < keep.Last || es[i].ID == keepID {
			kept[i] = true
		}
	}
	bucket := func(limit int, key func(time.Time) string) {
		seen := map[string]bool{}
		for _, i := range order {
			if len(seen) >= limit {
				return
			}
			k := key(es[i].Time.UTC())
			if !seen[k] {
				seen[k] = true
				kept[i] = true
			}
		}
	}
	bucket(keep.Daily, func(t time.Time) string { return t.Format("2006-01-02") })
	bucket(keep.Weekly, func(t time.Time) string { y, w := t.ISOWeek(); return fmt.Sprintf("%d-W%02d", y, w) })
	var out []Entry
	for i := range es {
		if !kept[i] {
			out = append(out, es[i])
		}
	}
	return out
}
