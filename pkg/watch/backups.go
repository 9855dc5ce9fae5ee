package watch

import (
	"context"
	"time"

	"github.com/quantabase/fleetctl/pkg/fleet"
)

// BackupFunc takes one verified backup of client (fleetctl watch wires
// pkg/backup's Backup to it).
type BackupFunc func(ctx context.Context, spec *fleet.Spec, secrets fleet.Secrets, client string) (BackupOutcome, error)

// BackupOutcome is a verified backup.
type BackupOutcome struct {
	ID       string
	Bytes    int64
	Duration time.Duration
}

// BackupRecord is the last scheduled backup of a client, for the status page.
type BackupRecord struct {
	At      time.Time // when the last verified backup finished
	ID      string
	Error   string // the last attempt's error, "" when it succeeded
	ErrorAt time.Time
}

// backupPoll is how often the scheduler rereads fleet.yaml's schedule.
const backupPoll = 30 * time.Second

// backupLoop takes every client's backup at the times backups.schedule
// names. It rereads fleet.yaml itself (the reconcile loop owns its spec)
// and runs beside the reconcile passes: a backup reads the volume while
// the client serves, so it needs no lock. A time missed while a backup
// ran or the file was invalid is caught up once, not once per miss.
func (d *Daemon) backupLoop(ctx context.Context) {
	after := time.Now()
	for {
		wait := backupPoll
		spec, err := fleet.Load(d.cfg.Path)
		if err == nil && spec.Backups != nil && spec.Backups.Schedule != "" {
			if sched, perr := fleet.ParseSchedule(spec.Backups.Schedule); perr == nil {
				next := sched.Next(after)
				if now := time.Now(); !next.After(now) {
					d.backupAll(ctx, spec)
					after = time.Now()
					continue
				} else if until := next.Sub(now); until < wait {
					wait = until
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

func (d *Daemon) backupAll(ctx context.Context, spec *fleet.Spec) {
	secrets, err := d.cfg.Resolve(spec)
	if err != nil {
		d.log.Error("scheduled backups skipped: secrets", "error", err.Error())
		return
	}
	for i := range spec.Clients {
		if ctx.Err() != nil {
			return
		}
		name := spec.Clients[i].Name
		out, err := d.cfg.Backup(ctx, spec, secrets, name)
		now := time.Now()
		if err != nil {
			msg := secrets.Masker().Error(err).Error()
			d.log.Error("scheduled backup failed", "client", name, "error", msg)
			d.m.backupFailed(name)
			d.status.setBackup(name, func(r *BackupRecord) { r.Error, r.ErrorAt = msg, now })
			continue
		}
		d.log.Info("scheduled backup verified", "client", name, "backup", out.ID, "bytes", out.Bytes, "seconds", out.Duration.Seconds())
		d.m.backupDone(name, now, out)
		d.status.setBackup(name, func(r *BackupRecord) { *r = BackupRecord{At: now, ID: out.ID} })
	}
}

func (st *statusStore) setBackup(client string, f func(*BackupRecord)) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.backups == nil {
		st.backups = map[string]BackupRecord{}
	}
	r := st.backups[client]
	f(&r)
	st.backups[client] = r
}
