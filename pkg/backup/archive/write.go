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
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// liveDBFiles are never archived: the consistent copy stands for them.
var liveDBFiles = map[string]bool{DBName: true, DBName + "-wal": true, DBName + "-shm": true, DBName + "-journal": true}

// WriteSnapshot writes the archive of the data directory dir to w (without
// the host's metadata: Relay adds it): first a consistent, checked copy of
// webui.db made in scratch (when the directory has one), then every other
// file in lexical order, then a manifest with their sizes and SHA-256. The
// client keeps serving; dir is only read.
func WriteSnapshot(ctx context.Context, dir, scratch string, w io.Writer) error {
	tw := tar.NewWriter(w)
	m := Manifest{Format: FormatVersion, Backend: "sqlite"}
	live := filepath.Join(dir, DBName)
	if _, err := os.Stat(live); err == nil {
		cp := filepath.Join(scratch, DBName)
		_ = os.Remove(cp)
		if err := CopySQLite(ctx, live, cp); err != nil {
			return err
		}
		m.SQLite = &SQLiteCopy{Method: "VACUUM INTO", IntegrityCheck: "ok"}
		fi, err := os.Stat(cp)
		if err != nil {
			return err
		}
		uid, gid := 0, 0
		if lfi, err := os.Stat(live); err == nil {
			uid, gid = fileOwner(lfi) // the copy belongs to the client's user, like the original
		}
		if err := addFile(tw, &m, cp, DBName, fi, uid, gid); err != nil {
			return err
		}
		_ = os.Remove(cp)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("snapshot %s: %w", live, err)
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if liveDBFiles[rel] {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) { // removed while we walk
				return nil
			}
			return err
		}
		uid, gid := fileOwner(fi)
		switch {
		case fi.IsDir():
			return tw.WriteHeader(&tar.Header{Name: DataPrefix + rel + "/", Typeflag: tar.TypeDir, Mode: int64(fi.Mode().Perm()), ModTime: fi.ModTime(), Uid: uid, Gid: gid})
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return tw.WriteHeader(&tar.Header{Name: DataPrefix + rel, Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777, ModTime: fi.ModTime(), Uid: uid, Gid: gid})
		case fi.Mode().IsRegular():
			return addFile(tw, &m, p, rel, fi, uid, gid)
		}
		return nil // sockets, devices, fifos: not data
	})
	if err != nil {
		return fmt.Errorf("snapshot %s: %w", dir, err)
	}
	return writeManifest(tw, &m)
}

// addFile archives the regular file at p as DataPrefix+rel. A file that
// grows or shrinks while it is read (an upload being written) is archived
// with the bytes its header announced, and hashed as archived.
func addFile(tw *tar.Writer, m *Manifest, p, rel string, fi fs.FileInfo, uid, gid int) error {
	f, err := os.Open(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	defer f.Close()
	size := fi.Size()
	h := &tar.Header{Name: DataPrefix + rel, Typeflag: tar.TypeReg, Mode: int64(fi.Mode().Perm()), Size: size, ModTime: fi.ModTime(), Uid: uid, Gid: gid}
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	sum := sha256.New()
	n, err := io.Copy(io.MultiWriter(tw, sum), io.LimitReader(f, size))
	if err != nil {
		return fmt.Errorf("read %s: %w", p, err)
	}
	if n < size { // shrank: pad, so the archive stays well formed
		pad := make([]byte, size-n)
		if _, err := tw.Write(pad); err != nil {
			return err
		}
		sum.Write(pad)
	}
	m.Files = append(m.Files, File{Path: rel, Size: size, Mode: h.Mode, SHA256: hex.EncodeToString(sum.Sum(nil))})
	m.TotalBytes += size
	return nil
}

func writeManifest(tw *tar.Writer, m *Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if err := tw.WriteHeader(&tar.Header{Name: ManifestName, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(b)), ModTime: time.Unix(946684800, 0)}); err != nil {
		return err
	}
	if _, err := tw.Write(b); err != nil {
		return err
	}
	return tw.Close()
}

func fileOwner(fi fs.FileInfo) (int, int) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid), int(st.Gid)
	}
	return 0, 0
}

// cleanName returns the path below DataPrefix of an archive entry, refusing
// names that would leave the directory.
func cleanName(name string) (string, error) {
	rel, ok := strings.CutPrefix(name, DataPrefix)
	if !ok {
		return "", fmt.Errorf("%w: unexpected entry %q", ErrCorrupt, name)
	}
	rel = strings.TrimSuffix(rel, "/")
	if rel == "" || path.IsAbs(rel) || path.Clean(rel) != rel || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("%w: unsafe entry name %q", ErrCorrupt, name)
	}
	return rel, nil
}
