package fleet

import (
	"path/filepath"
	"strings"

	"github.com/robfig/cron/v3"
)

// Backups configures `fleetctl backup`: one destination (a local directory,
// the default, or a restic repository), retention and a schedule.
type Backups struct {
	// Dir is the local destination (one archive per backup); relative to
	// fleet.yaml's directory. Default: DefaultBackupDir.
	Dir string `yaml:"dir,omitempty" json:"dir,omitempty"`
	// Restic, when set, is the destination instead of Dir.
	Restic *Restic `yaml:"restic,omitempty" json:"restic,omitempty"`
	// Keep is the retention, applied per client after a new backup verified.
	Keep *Keep `yaml:"keep,omitempty" json:"keep,omitempty"`
	// Schedule is a cron expression (5 fields, or @daily…) for `fleetctl watch`.
	Schedule string `yaml:"schedule,omitempty" json:"schedule,omitempty"`
}

// Restic is a restic repository (any restic backend: a path, rest:http://…,
// s3:…, sftp:…) and the reference to its password.
type Restic struct {
	Repository string    `yaml:"repository" json:"repository"`
	Password   SecretRef `yaml:"password" json:"password"`
}

// Keep is a retention policy: the newest Last backups, plus the newest of
// each of the last Daily days and Weekly ISO weeks. Zero everywhere keeps all.
type Keep struct {
	Last   int `yaml:"last,omitempty" json:"last,omitempty"`
	Daily  int `yaml:"daily,omitempty" json:"daily,omitempty"`
	Weekly int `yaml:"weekly,omitempty" json:"weekly,omitempty"`
}

// DefaultBackupDir is the local destination when none is set.
const DefaultBackupDir = "backups"

// BackupDir returns the absolute local backup directory of the spec.
func (s *Spec) BackupDir() string {
	dir := DefaultBackupDir
	if s.Backups != nil && s.Backups.Dir != "" {
		dir = s.Backups.Dir
	}
	if !filepath.IsAbs(dir) && s.Path != "" {
		dir = filepath.Join(filepath.Dir(s.Path), dir)
	}
	return dir
}

// ParseSchedule parses a backups.schedule cron expression (standard five
// fields or a descriptor such as @daily).
func ParseSchedule(expr string) (cron.Schedule, error) {
	return cron.ParseStandard(strings.TrimSpace(expr))
}

func (v validator) backups(path string, b *Backups) {
	if b == nil {
		return
	}
	if b.Restic != nil && b.Dir != "" {
		v.errf(path+".dir", "set either dir (a local directory) or restic (a repository), not both")
	}
	if b.Schedule != "" {
		if _, err := ParseSchedule(b.Schedule); err != nil {
			v.errf(path+".schedule", "not a cron expression: %v", err)
		}
	}
	if b.Restic != nil && strings.TrimSpace(b.Restic.Repository) == "" {
		v.errf(path+".restic.repository", "must not be empty")
	}
}
