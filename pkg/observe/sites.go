package observe

import (
	"encoding/json"
	"fmt"
	"hash"
	"sort"

	"github.com/quantabase/fleetctl/pkg/resource"
)

// SitesState is the observed nginx sites directory (filled by pkg/nginx).
type SitesState struct {
	Dir string `json:"dir"`
	// Files holds every regular file and symlink in Dir except dot-files
	// (fleetctl's own temp files), sorted by name.
	Files []SiteFile `json:"files"`
	// Missing lists the certificate and key paths that were checked and do
	// not exist: nginx -t would fail for every site, so the planner makes
	// each a conflict of its client alone.
	Missing []string `json:"missing,omitempty"`
	// Pending: site files were written but nginx has not reloaded them (an
	// apply died, or the reload failed); the next apply tests and reloads.
	Pending bool `json:"pending,omitempty"`
}

// IsMissing reports whether path was checked and found missing.
func (s *SitesState) IsMissing(path string) bool {
	if s == nil {
		return false
	}
	for _, m := range s.Missing {
		if m == path {
			return true
		}
	}
	return false
}

// SiteFile is one file of the sites directory. Only files whose first line
// is fleetctl's managed header are ever changed; the others are reported by
// name so a collision can be a conflict.
type SiteFile struct {
	Name    string `json:"name"`
	Managed bool   `json:"managed"`
	// Fleet, Client, Format and Hash come from the managed header: the
	// content hash recorded when fleetctl wrote the file.
	Fleet  string `json:"fleet,omitempty"`
	Client string `json:"client,omitempty"`
	Format int    `json:"format,omitempty"`
	Hash   string `json:"hash,omitempty"`
	// Actual is the hash of the content as read now; it differs from Hash
	// when someone edited the file by hand.
	Actual string `json:"actual,omitempty"`
	// Site is the server block recorded in the header (nil when unreadable).
	Site *resource.Site `json:"site,omitempty"`
}

// File returns the file called name, or nil.
func (s *SitesState) File(name string) *SiteFile {
	if s == nil {
		return nil
	}
	i := sort.Search(len(s.Files), func(i int) bool { return s.Files[i].Name >= name })
	if i < len(s.Files) && s.Files[i].Name == name {
		return &s.Files[i]
	}
	return nil
}

// fingerprint adds what the planner reads of the sites to h.
func (s *SitesState) fingerprint(h hash.Hash) {
	fmt.Fprintf(h, "sites %s missing=%v pending=%t\n", s.Dir, s.Missing, s.Pending)
	fs := append([]SiteFile(nil), s.Files...)
	sort.Slice(fs, func(i, j int) bool { return fs[i].Name < fs[j].Name })
	for _, f := range fs {
		site, _ := json.Marshal(f.Site)
		fmt.Fprintf(h, "s %s %t %s %s %d %s %s %s\n", f.Name, f.Managed, f.Fleet, f.Client, f.Format, f.Hash, f.Actual, site)
	}
}
