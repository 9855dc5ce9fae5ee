package archive

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ErrCorrupt: an archive is truncated, altered or not one of ours.
var ErrCorrupt = errors.New("backup archive is corrupt")

// scan reads an archive to its end, calling each (when set) for every data
// entry with a reader of its content, and checks every file against the
// manifest: the same files, sizes and SHA-256. It returns the manifest.
func scan(r io.Reader, each func(h *tar.Header, rel string, body io.Reader) error) (*Manifest, error) {
	tr := tar.NewReader(r)
	got := map[string]File{}
	var m *Manifest
	pgSum := ""
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		if m != nil {
			return nil, fmt.Errorf("%w: entry %q after the manifest", ErrCorrupt, h.Name)
		}
		if h.Name == ManifestName {
			var mm Manifest
			dec := json.NewDecoder(io.LimitReader(tr, 64<<20))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&mm); err != nil {
				return nil, fmt.Errorf("%w: manifest: %w", ErrCorrupt, err)
			}
			m = &mm
			continue
		}
		if h.Name == PostgresDumpName {
			sum := sha256.New()
			if _, err := io.Copy(sum, tr); err != nil {
				return nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, h.Name, err)
			}
			pgSum = hex.EncodeToString(sum.Sum(nil))
			continue
		}
		rel, err := cleanName(h.Name)
		if err != nil {
			return nil, err
		}
		if h.Typeflag != tar.TypeReg {
			if each != nil {
				if err := each(h, rel, nil); err != nil {
					return nil, err
				}
			}
			continue
		}
		sum := sha256.New()
		body := io.TeeReader(tr, sum)
		if each != nil {
			if err := each(h, rel, body); err != nil {
				return nil, err
			}
		}
		n, err := io.Copy(io.Discard, body)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, rel, err)
		}
		_ = n
		got[rel] = File{Path: rel, Size: h.Size, SHA256: hex.EncodeToString(sum.Sum(nil))}
	}
	if m == nil {
		return nil, fmt.Errorf("%w: no manifest (truncated?)", ErrCorrupt)
	}
	if m.Format != FormatVersion {
		return nil, fmt.Errorf("%w: format %d, this fleetctl reads %d", ErrCorrupt, m.Format, FormatVersion)
	}
	if m.Postgres != nil && m.Postgres.SHA256 != pgSum {
		return nil, fmt.Errorf("%w: %s does not match its checksum", ErrCorrupt, PostgresDumpName)
	}
	if m.Postgres == nil && pgSum != "" {
		return nil, fmt.Errorf("%w: a %s the manifest does not list", ErrCorrupt, PostgresDumpName)
	}
	if len(got) != len(m.Files) {
		return nil, fmt.Errorf("%w: %d files, the manifest lists %d", ErrCorrupt, len(got), len(m.Files))
	}
	for _, f := range m.Files {
		g, ok := got[f.Path]
		switch {
		case !ok:
			return nil, fmt.Errorf("%w: %s is missing", ErrCorrupt, f.Path)
		case g.Size != f.Size || g.SHA256 != f.SHA256:
			return nil, fmt.Errorf("%w: %s does not match its checksum", ErrCorrupt, f.Path)
		}
	}
	return m, nil
}

// Relay copies the agent's archive from r to w, checking every file against
// the agent's manifest as it passes, and replaces that manifest with the
// agent's file list completed by meta (the host's facts: fleet, client,
// versions). It returns the final manifest.
func Relay(r io.Reader, w io.Writer, meta func(*Manifest)) (*Manifest, error) {
	return RelayWith(r, w, meta, "")
}

// RelayWith is Relay that also archives the pg_dump file at pgDump (when
// not "") as PostgresDumpName, recorded in the manifest.
func RelayWith(r io.Reader, w io.Writer, meta func(*Manifest), pgDump string) (*Manifest, error) {
	tw := tar.NewWriter(w)
	m, err := scan(r, func(h *tar.Header, _ string, body io.Reader) error {
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if body != nil {
			if _, err := io.Copy(tw, body); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if meta != nil {
		meta(m)
	}
	if pgDump != "" {
		if m.Postgres, err = addDump(tw, pgDump); err != nil {
			return nil, err
		}
	}
	if err := writeManifest(tw, m); err != nil {
		return nil, err
	}
	return m, nil
}

// Verify reads a stored archive to its end: every checksum, and PRAGMA
// integrity_check on its webui.db (extracted into scratch, then removed).
func Verify(ctx context.Context, r io.Reader, scratch string) (*Manifest, error) {
	dbCopy := filepath.Join(scratch, "verify-"+DBName)
	defer os.Remove(dbCopy)
	sawDB := false
	m, err := scan(r, func(h *tar.Header, rel string, body io.Reader) error {
		if rel != DBName || body == nil {
			return nil
		}
		sawDB = true
		return writeFile(dbCopy, body, 0o600)
	})
	if err != nil {
		return nil, err
	}
	if sawDB {
		if err := IntegrityCheck(ctx, dbCopy); err != nil {
			return nil, err
		}
	} else if m.SQLite != nil {
		return nil, fmt.Errorf("%w: the manifest lists a webui.db the archive does not hold", ErrCorrupt)
	}
	return m, nil
}

// Extract restores an archive into dir (an empty data directory: a new
// volume), checking every checksum, then the restored webui.db. On error dir
// holds a partial restore: the caller throws it away.
func Extract(ctx context.Context, r io.Reader, dir string) (*Manifest, error) {
	type link struct{ name, target string }
	var links []link
	m, err := scan(r, func(h *tar.Header, rel string, body io.Reader) error {
		dst := filepath.Join(dir, filepath.FromSlash(rel))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(dst, os.FileMode(h.Mode).Perm()|0o700); err != nil {
				return err
			}
		case tar.TypeSymlink:
			links = append(links, link{dst, h.Linkname}) // after every file: nothing is written through one
			return nil
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			if err := writeFile(dst, body, os.FileMode(h.Mode).Perm()); err != nil {
				return err
			}
		default:
			return nil
		}
		_ = os.Lchown(dst, h.Uid, h.Gid)
		_ = os.Chtimes(dst, h.ModTime, h.ModTime)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, l := range links {
		if err := os.Symlink(l.target, l.name); err != nil {
			return nil, err
		}
	}
	if m.SQLite != nil {
		if err := IntegrityCheck(ctx, filepath.Join(dir, DBName)); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func writeFile(p string, r io.Reader, mode os.FileMode) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func addDump(tw *tar.Writer, p string) (*PostgresDump, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := tw.WriteHeader(&tar.Header{Name: PostgresDumpName, Typeflag: tar.TypeReg, Mode: 0o600, Size: fi.Size(), ModTime: fi.ModTime()}); err != nil {
		return nil, err
	}
	sum := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tw, sum), io.LimitReader(f, fi.Size())); err != nil {
		return nil, err
	}
	return &PostgresDump{File: PostgresDumpName, Size: fi.Size(), SHA256: hex.EncodeToString(sum.Sum(nil))}, nil
}
