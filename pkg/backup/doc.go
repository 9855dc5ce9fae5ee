// Package backup takes, stores, lists, prunes and restores client backups.
//
// Backup runs fleetctl's own helper image (pkg/docker EnsureSelfImage) next
// to the client's data volume while the client keeps serving: the agent in
// it makes a consistent copy of webui.db (VACUUM INTO, integrity_check) and
// streams the archive (pkg/backup/archive) through the Engine API, so a
// remote engine works the same. fleetctl checks every checksum as the
// stream passes, stores it at a Destination (a local directory or a restic
// repository), reads it back to verify it, and only then prunes old backups
// by the retention policy (Prune, a pure function of the list).
//
// Restore verifies first (nothing is touched for a corrupt archive or a
// wrong restic password), extracts into a NEW volume, points the client's
// volume field in fleet.yaml at it (pkg/fleet edit) and runs the normal
// health-gated recreate under the fleet lock (pkg/reconcile): a restore that
// does not come up healthy puts fleet.yaml back and leaves the client on its
// previous container and volume. Volumes are never removed here.
//
// It is wiring (like pkg/reconcile): it connects the Docker adapter, the
// archive adapter and restic/pg_dump processes; it holds no plan policy.
package backup
