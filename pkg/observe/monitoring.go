package observe

import (
	"fmt"
	"hash"
	"sort"
)

// MonitoringState is the observed directory of the deployed monitoring's
// rendered files (monitoring.dir; filled by pkg/rendered).
type MonitoringState struct {
	// Dir is the directory, absolute: the containers bind-mount it.
	Dir string `json:"dir"`
	// Files are the regular files found under Dir, by slash-separated
	// relative path, sorted; dot-files (fleetctl's temp files and marker)
	// are left out.
	Files []ObservedFile `json:"files"`
	// ReloadPending: files were written for a running Prometheus that was
	// not reloaded since (an apply died, or the reload failed).
	ReloadPending bool `json:"reloadPending,omitempty"`
	// GrafanaRestartPending: Grafana's provisioning was written and Grafana
	// not restarted since (it reads its datasources at start).
	GrafanaRestartPending bool `json:"grafanaRestartPending,omitempty"`
	// DirIDs are the identities (device:inode) of the directories below
	// Dir, by slash-separated relative path. A container records those of
	// the directories it mounts: one replaced on the host (mv and
	// recreate, a fresh clone) is still the old one inside it.
	DirIDs map[string]string `json:"dirIDs,omitempty"`
}

// ObservedFile is one file of a MonitoringState.
type ObservedFile struct {
	Path string `json:"path"`
	// Digest is the SHA-256 of Data (hex).
	Digest string `json:"digest"`
	// Data is the content (rendered files, no secret; kept off the JSON).
	Data []byte `json:"-"`
}

// File returns the file at path, or nil.
func (m *MonitoringState) File(path string) *ObservedFile {
	if m == nil {
		return nil
	}
	i := sort.Search(len(m.Files), func(i int) bool { return m.Files[i].Path >= path })
	if i < len(m.Files) && m.Files[i].Path == path {
		return &m.Files[i]
	}
	return nil
}

func (m *MonitoringState) fingerprint(h hash.Hash) {
	fmt.Fprintf(h, "monitoring %s pending=%t grafana=%t\n", m.Dir, m.ReloadPending, m.GrafanaRestartPending)
	for _, f := range m.Files {
		fmt.Fprintf(h, "m %s %s\n", f.Path, f.Digest)
	}
	ids := make([]string, 0, len(m.DirIDs))
	for k := range m.DirIDs {
		ids = append(ids, k)
	}
	sort.Strings(ids)
	for _, k := range ids {
		fmt.Fprintf(h, "d %s %s\n", k, m.DirIDs[k])
	}
}
