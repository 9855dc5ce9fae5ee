package archive_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/quantabase/fleetctl/pkg/backup/archive"
)

// A snapshot taken while a writer keeps inserting: the copy passes
// integrity_check and holds every row committed before it began; the
// archive round-trips; one changed byte is refused.
func TestSnapshotUnderWritesRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, archive.DBName)+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec("CREATE TABLE chat (id INTEGER PRIMARY KEY, body TEXT)"); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "uploads"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "uploads", "a.bin"), bytes.Repeat([]byte("x"), 100000), 0o644); err != nil {
		t.Fatal(err)
	}
	var written atomic.Int64
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		for i := int64(1); ; i++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			if _, err := db.Exec("INSERT INTO chat (id, body) VALUES (?, ?)", i, "row"); err != nil {
				done <- err
				return
			}
			written.Store(i)
		}
	}()
	for written.Load() < 200 {
		time.Sleep(time.Millisecond)
	}
	before := written.Load()
	var raw, final bytes.Buffer
	if err := archive.WriteSnapshot(ctx, dir, t.TempDir(), &raw); err != nil {
		t.Fatal(err)
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	m, err := archive.Relay(&raw, &final, func(m *archive.Manifest) { m.Client = "acme" })
	if err != nil {
		t.Fatal(err)
	}
	if m.Client != "acme" || len(m.Files) != 2 || m.SQLite == nil {
		t.Fatalf("manifest %+v", m)
	}
	stored := final.Bytes()
	if _, err := archive.Verify(ctx, bytes.NewReader(stored), t.TempDir()); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if _, err := archive.Extract(ctx, bytes.NewReader(stored), out); err != nil {
		t.Fatal(err)
	}
	rdb, err := sql.Open("sqlite", "file:"+filepath.Join(out, archive.DBName)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	var n int64
	if err := rdb.QueryRow("SELECT count(*) FROM chat WHERE id <= ?", before).Scan(&n); err != nil || n != before {
		t.Fatalf("restored %d of the %d rows written before the backup (%v)", n, before, err)
	}
	if b, err := os.ReadFile(filepath.Join(out, "uploads", "a.bin")); err != nil || len(b) != 100000 {
		t.Fatalf("upload: %d bytes, %v", len(b), err)
	}

	for _, off := range []int{600, len(stored) / 2, bytes.LastIndex(stored, []byte(`"sha256": "`)) + 14} {
		bad := bytes.Clone(stored)
		bad[off] ^= 0xff
		if _, err := archive.Verify(ctx, bytes.NewReader(bad), t.TempDir()); !errors.Is(err, archive.ErrCorrupt) && !errors.Is(err, archive.ErrIntegrity) {
			t.Errorf("byte %d flipped: %v, want ErrCorrupt", off, err)
		}
	}
	if _, err := archive.Verify(ctx, bytes.NewReader(stored[:len(stored)/2]), t.TempDir()); !errors.Is(err, archive.ErrCorrupt) {
		t.Errorf("truncated: %v, want ErrCorrupt", err)
	}
}
