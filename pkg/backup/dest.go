package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/quantabase/fleetctl/pkg/backup/archive"
)

// Entry is one stored backup.
type Entry struct {
	ID       string    `json:"id"` // CLIENT-YYYYMMDDTHHMMSSZ
	Client   string    `json:"client"`
	Time     time.Time `json:"time"`
	Bytes    int64     `json:"bytes"`              // data bytes (the volume's files)
	Stored   int64     `json:"storedBytes"`        // archive bytes at the destination (0: unknown)
	Location string    `json:"location"`           // file path, or restic snapshot ID
	SHA256   string    `json:"sha256,omitempty"`   // of the stored archive (local)
	Postgres string    `json:"postgres,omitempty"` // location of the pg_dump, when there is one
}

// Destination stores archives. Create returns a writer for a new backup;
// nothing of it is listed before Finalize.
type Destination interface {
	String() string
	Create(ctx context.Context, client, id string) (Pending, error)
	Open(ctx context.Context, e Entry) (io.ReadCloser, error)
	List(ctx context.Context, client string) ([]Entry, error)
	Remove(ctx context.Context, es []Entry) error
}

// Pending is a backup being written: Close ends the upload and returns its
// entry (readable with Open, not yet listed); Finalize lists it; Discard
// throws it away.
type Pending interface {
	io.Writer
	Close() (Entry, error)
	Finalize(ctx context.Context, m *archive.Manifest) (Entry, error)
	Discard(ctx context.Context) error
}

// ErrNotFound: no backup of that name.
var ErrNotFound = errors.New("no such backup")

// Find returns the entry of client whose ID (or restic snapshot ID, or
// "latest") is ref.
func Find(ctx context.Context, d Destination, client, ref string) (Entry, error) {
	es, err := d.List(ctx, client)
	if err != nil {
		return Entry{}, err
	}
	if ref == "latest" && len(es) > 0 {
		return es[len(es)-1], nil
	}
	for _, e := range es {
		if e.ID == ref || e.Location == ref || strings.HasPrefix(e.Location, ref) && len(ref) >= 8 {
			return e, nil
		}
	}
	return Entry{}, fmt.Errorf("%w %q of client %s at %s (fleetctl backup list %s)", ErrNotFound, ref, client, d, client)
}

// Local is a directory holding DIR/CLIENT/ID.tar.gz and its ID.json (the
// manifest and the archive's SHA-256).
type Local struct{ Dir string }

func (l Local) String() string { return "local " + l.Dir }

type sidecar struct {
	Entry    Entry             `json:"entry"`
	Manifest *archive.Manifest `json:"manifest"`
}

func (l Local) Create(_ context.Context, client, id string) (Pending, error) {
	dir := filepath.Join(l.Dir, client)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("backup directory: %w", err)
	}
	final := filepath.Join(dir, id+".tar.gz")
	if _, err := os.Stat(final); err == nil {
		return nil, fmt.Errorf("backup %s already exists", final)
	}
	f, err := os.OpenFile(final+".partial", os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("backup directory: %w", err)
	}
	p := &localPending{f: f, final: final, sum: sha256.New(), e: Entry{ID: id, Client: client}}
	p.gz = newGzip(io.MultiWriter(f, p.sum, &p.n))
	return p, nil
}

type localPending struct {
	f     *os.File
	gz    io.WriteCloser
	sum   hash.Hash
	n     counter
	final string
	e     Entry
}

func (p *localPending) Write(b []byte) (int, error) { return p.gz.Write(b) }

func (p *localPending) Close() (Entry, error) {
	if err := p.gz.Close(); err != nil {
		return p.e, err
	}
	if err := p.f.Sync(); err != nil {
		return p.e, err
	}
	if err := p.f.Close(); err != nil {
		return p.e, err
	}
	p.e.Location = p.f.Name()
	p.e.Stored = int64(p.n)
	p.e.SHA256 = hex.EncodeToString(p.sum.Sum(nil))
	return p.e, nil
}

func (p *localPending) Finalize(_ context.Context, m *archive.Manifest) (Entry, error) {
	e := p.e
	e.Time, e.Bytes, e.Location = m.CreatedAt, m.TotalBytes, p.final
	b, err := json.MarshalIndent(sidecar{Entry: e, Manifest: m}, "", "  ")
	if err != nil {
		return e, err
	}
	side := strings.TrimSuffix(p.final, ".tar.gz") + ".json"
	if err := os.WriteFile(side+".partial", append(b, '\n'), 0o600); err != nil {
		return e, err
	}
	if err := os.Rename(p.f.Name(), p.final); err != nil {
		return e, err
	}
	if err := os.Rename(side+".partial", side); err != nil {
		return e, err
	}
	return e, nil
}

func (p *localPending) Discard(context.Context) error {
	p.f.Close()
	return os.Remove(p.f.Name())
}

func (l Local) Open(_ context.Context, e Entry) (io.ReadCloser, error) {
	f, err := os.Open(e.Location)
	if err != nil {
		return nil, err
	}
	return newGunzip(f, e.SHA256)
}

func (l Local) List(_ context.Context, client string) ([]Entry, error) {
	pattern := filepath.Join(l.Dir, "*", "*.json")
	if client != "" {
		pattern = filepath.Join(l.Dir, client, "*.json")
	}
	files, err := filepath.Glob(pattern)
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var s sidecar
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		s.Entry.Location = strings.TrimSuffix(f, ".json") + ".tar.gz" // the directory may have moved
		if s.Entry.Postgres != "" {
			s.Entry.Postgres = strings.TrimSuffix(f, ".json") + ".pgdump"
		}
		out = append(out, s.Entry)
	}
	sortEntries(out)
	return out, nil
}

func (l Local) Remove(_ context.Context, es []Entry) error {
	var errs []error
	for _, e := range es {
		base := strings.TrimSuffix(e.Location, ".tar.gz")
		for _, p := range []string{base + ".json", base + ".tar.gz", base + ".pgdump"} {
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func sortEntries(es []Entry) {
	sort.SliceStable(es, func(i, j int) bool {
		if !es[i].Time.Equal(es[j].Time) {
			return es[i].Time.Before(es[j].Time)
		}
		return es[i].ID < es[j].ID
	})
}

type counter int64

func (c *counter) Write(b []byte) (int, error) { *c += counter(len(b)); return len(b), nil }
