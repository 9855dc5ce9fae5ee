package migrate

import (
	"encoding/json"
	"errors"
	"time"
)

// Sentinel errors callers branch on (errors.Is).
var (
	// ErrTargetNotEmpty: a target table already holds rows (and Force is off).
	ErrTargetNotEmpty = errors.New("target database is not empty")
	// ErrSchemaMismatch: the target lacks a column the SQLite data has
	// (the schema comes from another Open WebUI version).
	ErrSchemaMismatch = errors.New("target schema does not match the SQLite data")
	// ErrVerify: row counts or checksums differ after the copy.
	ErrVerify = errors.New("verification failed")
	// ErrPreflight: the target cannot be used (unreachable, wrong password, ...).
	ErrPreflight = errors.New("preflight failed")
)

// Report is the JSON record of a migration (or of a dry run). It never holds
// a password: Target is masked.
type Report struct {
	Source       string `json:"source"`
	SourceSHA256 string `json:"sourceSha256,omitempty"`
	SourceBytes  int64  `json:"sourceBytes"`
	Target       string `json:"target"`

	ServerVersion string `json:"serverVersion,omitempty"`
	PGVector      bool   `json:"pgvector"`
	// SchemaFromApp: the target already had the application's schema
	// (alembic_version and migratehistory are then not copied).
	SchemaFromApp bool     `json:"schemaFromApp"`
	DryRun        bool     `json:"dryRun,omitempty"`
	Forced        []string `json:"forced,omitempty"` // non-empty tables truncated because of Force
	// SeededRemoved counts the rows the application's schema step had
	// seeded (Options.Seeded), deleted before the copy.
	SeededRemoved int64    `json:"seededRemoved,omitempty"`
	Warnings      []string `json:"warnings,omitempty"`

	Tables      []TableReport `json:"tables"`
	TotalRows   int64         `json:"totalRows"`
	CopiedRows  int64         `json:"copiedRows"`
	Alterations int64         `json:"alterations"`
	Sequences   []string      `json:"sequencesReset,omitempty"`
	// NonEmpty are the target tables that held rows before (Force).
	NonEmpty []string `json:"nonEmptyTables,omitempty"`
	// Orphans are the rows whose parent row is missing, per foreign key;
	// Quarantined of them were copied into QuarantineFile, not the target.
	Orphans        []OrphanSet `json:"orphans,omitempty"`
	Quarantined    int64       `json:"quarantined,omitempty"`
	QuarantineFile string      `json:"quarantineFile,omitempty"`
	// NotMigrated are the source's views and triggers (reported in Warnings).
	NotMigrated []string `json:"notMigrated,omitempty"`
	// Duplicates are unique keys whose values would collide once copied.
	Duplicates []DuplicateSet `json:"duplicates,omitempty"`

	StartedAt  time.Time `json:"startedAt"`
	FinishedAt time.Time `json:"finishedAt"`
	Durations  Durations `json:"durations"`

	OK bool `json:"ok"`
	// Error says what failed; FailedTable which table, if any. The copy runs
	// in one transaction, so on failure RolledBack is true and the target is
	// as it was before.
	Error       string `json:"error,omitempty"`
	FailedTable string `json:"failedTable,omitempty"`
	RolledBack  bool   `json:"rolledBack,omitempty"`
}

// Durations of the phases, in seconds.
type Durations struct {
	Preflight float64 `json:"preflight"`
	Copy      float64 `json:"copy"`
	Verify    float64 `json:"verify"`
	Total     float64 `json:"total"`
}

// TableReport is one table's plan and outcome.
type TableReport struct {
	Name string `json:"name"`
	// Action: copy, create+copy, or skip (with Reason).
	Action     string       `json:"action"`
	Reason     string       `json:"reason,omitempty"`
	SourceRows int64        `json:"sourceRows"`
	Copied     int64        `json:"copied"`
	TargetRows int64        `json:"targetRows"`
	SourceSum  string       `json:"sourceChecksum,omitempty"`
	TargetSum  string       `json:"targetChecksum,omitempty"`
	Verified   bool         `json:"verified"`
	Alter      []Alteration `json:"alterations,omitempty"`
	Seconds    float64      `json:"seconds"`
	// Quarantined orphan rows went into the quarantine file, not the target:
	// the target then holds SourceRows - Quarantined.
	Quarantined int64 `json:"quarantined,omitempty"`
	// EmptyBefore: the target table had no rows before (Undo may empty it again).
	EmptyBefore bool `json:"emptyBefore"`
}

// Alteration counts values changed in one way in one column.
type Alteration struct {
	Column string `json:"column"`
	Kind   string `json:"kind"`
	Count  int64  `json:"count"`
}

// JSON renders the report, indented.
func (r *Report) JSON() []byte {
	b, _ := json.MarshalIndent(r, "", "  ")
	return append(b, '\n')
}

// Written lists the tables this migration wrote into that were empty before:
// what Undo empties again.
func (r *Report) Written() []string {
	var out []string
	for _, t := range r.Tables {
		if t.Action != "skip" && t.EmptyBefore {
			out = append(out, t.Name)
		}
	}
	return out
}

// Progress is reported while copying and verifying. Done and Total count
// rows over the whole migration; TableDone and TableTotal for the table.
type Progress struct {
	Phase      string // "copy" or "verify"
	Table      string
	TableDone  int64
	TableTotal int64
	Done       int64
	Total      int64
}
