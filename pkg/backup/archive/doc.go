// Package archive owns fleetctl's backup archive format and the work done
// next to a client's data volume, inside the helper container
// (`fleetctl agent …`): a consistent copy of webui.db taken while the client
// keeps writing (VACUUM INTO, never a file copy), PRAGMA integrity_check,
// the tar stream of the volume, its manifest, and the checks that a stored
// archive is whole before anything is restored from it.
//
// An archive is a tar stream: every file of the volume under data/ (the
// consistent webui.db first, the live webui.db-wal/-shm/-journal never), then
// manifest.json with the size and SHA-256 of every file. Local backups store
// it gzip-compressed; restic stores it as it is (deduplicated).
//
// It imports no other fleetctl package but pkg/redact: it is an adapter of
// one external system, SQLite files (modernc.org/sqlite).
package archive
