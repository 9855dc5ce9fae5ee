package backup

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"

	"github.com/quantabase/fleetctl/pkg/backup/archive"
)

// newGzip compresses at gzip's fastest level: the archive is mostly
// uploads and vectors, and backing up while the client serves must not take
// longer than the old `tar czf` did.
func newGzip(w io.Writer) io.WriteCloser {
	bw := bufio.NewWriterSize(w, 1<<20)
	gz, _ := gzip.NewWriterLevel(bw, gzip.BestSpeed)
	return &gzipWriter{gz: gz, bw: bw}
}

type gzipWriter struct {
	gz *gzip.Writer
	bw *bufio.Writer
}

func (g *gzipWriter) Write(b []byte) (int, error) { return g.gz.Write(b) }

func (g *gzipWriter) Close() error {
	if err := g.gz.Close(); err != nil {
		return err
	}
	return g.bw.Flush()
}

// newGunzip reads the archive file f, checking at its end that the file's
// SHA-256 is want (when set): a changed byte anywhere is ErrCorrupt.
func newGunzip(f *os.File, want string) (io.ReadCloser, error) {
	h := sha256.New()
	src := bufio.NewReaderSize(io.TeeReader(f, h), 1<<20)
	gz, err := gzip.NewReader(src)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: %s: %w", archive.ErrCorrupt, f.Name(), err)
	}
	return &gunzip{f: f, src: src, gz: gz, h: h, want: want}, nil
}

type gunzip struct {
	f    *os.File
	src  io.Reader
	gz   *gzip.Reader
	h    hash.Hash
	want string
}

func (g *gunzip) Read(b []byte) (int, error) {
	n, err := g.gz.Read(b)
	if err == io.EOF {
		if _, derr := io.Copy(io.Discard, g.src); derr != nil {
			return n, derr
		}
		if got := hex.EncodeToString(g.h.Sum(nil)); g.want != "" && got != g.want {
			return n, fmt.Errorf("%w: %s: SHA-256 %s, the manifest says %s", archive.ErrCorrupt, g.f.Name(), got, g.want)
		}
	} else if err != nil {
		err = fmt.Errorf("%w: %s: %w", archive.ErrCorrupt, g.f.Name(), err)
	}
	return n, err
}

func (g *gunzip) Close() error { return g.f.Close() }
