package monitoring

import (
	"time"

	"github.com/quantabase/fleetctl/pkg/fleet"
)

// scheduleRef is the fixed start from which a schedule's gaps are measured
// (rendering reads no clock). A year from it holds every pattern a cron
// expression can make but leap days.
var scheduleRef = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// maxRuns bounds the walk (a schedule of every minute runs 525,600 times a
// year; its gap is known long before).
const maxRuns = 100_000

// BackupMaxAge is how old a client's last successful backup may be before
// the alert fires: thresholds.backupAge when set; else the longest gap
// between two runs of backups.schedule plus fleet.BackupGrace; else
// fleet.DefaultBackupAge.
func BackupMaxAge(s *fleet.Spec) time.Duration {
	if m := s.Monitoring; m != nil && m.Thresholds.BackupAge != 0 {
		return m.Thresholds.BackupAge.Std()
	}
	if s.Backups == nil || s.Backups.Schedule == "" {
		return fleet.DefaultBackupAge
	}
	sched, err := fleet.ParseSchedule(s.Backups.Schedule)
	if err != nil { // the loader refused it already
		return fleet.DefaultBackupAge
	}
	var longest time.Duration
	end := scheduleRef.AddDate(1, 0, 0)
	prev := sched.Next(scheduleRef)
	for i := 0; i < maxRuns && !prev.IsZero() && prev.Before(end); i++ {
		next := sched.Next(prev)
		if next.IsZero() {
			break
		}
		longest = max(longest, next.Sub(prev))
		prev = next
	}
	if longest == 0 {
		return fleet.DefaultBackupAge
	}
	return longest + fleet.BackupGrace
}
