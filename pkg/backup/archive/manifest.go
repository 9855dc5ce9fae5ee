package archive

import (
	"encoding/json"
	"time"
)

// ManifestName is the archive's last entry.
const ManifestName = "manifest.json"

// DataPrefix is where the volume's files sit in the archive.
const DataPrefix = "data/"

// PostgresDumpName is the archive entry holding a PostgreSQL client's
// pg_dump -Fc (after the data, before the manifest).
const PostgresDumpName = "postgres.dump"

// DBName is the SQLite file of Open WebUI in its data directory.
const DBName = "webui.db"

// FormatVersion is the archive format this build writes and reads.
const FormatVersion = 1

// Manifest describes one backup. It holds no secret: the client entry keeps
// secret references, never their values.
type Manifest struct {
	Format          int             `json:"format"`
	ID              string          `json:"id"` // CLIENT-YYYYMMDDTHHMMSSZ
	Fleet           string          `json:"fleet"`
	Client          string          `json:"client"`
	CreatedAt       time.Time       `json:"createdAt"`
	DurationSeconds float64         `json:"durationSeconds"`
	FleetctlVersion string          `json:"fleetctlVersion"`
	Image           string          `json:"image,omitempty"`   // the client container's image reference
	ImageID         string          `json:"imageID,omitempty"` // and its ID
	Volume          string          `json:"volume"`
	ClientEntry     json.RawMessage `json:"clientEntry,omitempty"` // the fleet.yaml entry, secrets as references
	Backend         string          `json:"backend"`               // sqlite | postgres
	SQLite          *SQLiteCopy     `json:"sqlite,omitempty"`
	Postgres        *PostgresDump   `json:"postgres,omitempty"`
	Files           []File          `json:"files"`
	TotalBytes      int64           `json:"totalBytes"`
}

// File is one file of the volume.
type File struct {
	Path   string `json:"path"` // relative to the data directory
	Size   int64  `json:"size"`
	Mode   int64  `json:"mode"`
	SHA256 string `json:"sha256"`
}

// SQLiteCopy says how webui.db was copied and checked.
type SQLiteCopy struct {
	Method         string `json:"method"`         // "VACUUM INTO"
	IntegrityCheck string `json:"integrityCheck"` // "ok"
}

// PostgresDump is the pg_dump -Fc stored beside the volume.
type PostgresDump struct {
	File   string `json:"file"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}
