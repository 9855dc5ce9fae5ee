package docker

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/image"
)

// SelfImageRepo is the repository of the helper image fleetctl makes from its
// own binary; the tag is <version>-<first 12 hex of the binary's SHA-256>.
const SelfImageRepo = "fleetctl/fleetctl"

// SelfBinaryPath is where the binary sits in the helper image: never under
// /app, where a client's data volume is mounted.
const SelfBinaryPath = "/usr/local/bin/fleetctl"

// SetVersion sets the fleetctl version the helper image's tag carries
// (default "dev"). The binary's digest in the tag is what keeps two builds
// apart; the version is for people reading `docker images`.
func (c *Client) SetVersion(v string) {
	if v != "" {
		c.version = v
	}
}

// EnsureSelfImage returns a local image holding the running fleetctl binary
// at SelfBinaryPath, importing it (no registry, no docker CLI, works against
// a remote engine) when the engine does not have it yet. The binary must be
// static (CGO_ENABLED=0, as `make build` does): the image is FROM scratch.
func (c *Client) EnsureSelfImage(ctx context.Context) (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("helper image: locate the fleetctl binary: %w", err)
	}
	return c.EnsureBinaryImage(ctx, exe, c.version)
}

// SelfImageRef is the reference EnsureSelfImage returns, computed from the
// running binary without asking or changing the engine: what a plan names.
func (c *Client) SelfImageRef() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("helper image: locate the fleetctl binary: %w", err)
	}
	ref, _, _, err := binaryImageRef(exe, c.version)
	return ref, err
}

func binaryImageRef(path, version string) (ref, sum string, size int64, err error) {
	if version == "" {
		version = "dev"
	}
	sum, size, err = staticBinaryDigest(path)
	if err != nil {
		return "", "", 0, fmt.Errorf("helper image: %w", err)
	}
	return SelfImageRepo + ":" + tagSafe(version) + "-" + sum[:12], sum, size, nil
}

// EnsureBinaryImage is EnsureSelfImage for the fleetctl binary at path.
func (c *Client) EnsureBinaryImage(ctx context.Context, path, version string) (string, error) {
	ref, sum, size, err := binaryImageRef(path, version)
	if err != nil {
		return "", err
	}
	if _, err := c.api.ImageInspect(ctx, ref); err == nil {
		return ref, nil
	} else if !cerrdefs.IsNotFound(err) {
		return "", fmt.Errorf("helper image: inspect %s: %w", ref, err)
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("helper image: %w", err)
	}
	defer f.Close()
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeRootfs(pw, f, size)) }()
	rc, err := c.api.ImageImport(ctx, image.ImportSource{Source: pr, SourceName: "-"}, ref, image.ImportOptions{
		Message: "fleetctl helper: the fleetctl binary (sha256 " + sum + ")",
		Changes: []string{
			`ENTRYPOINT ["` + SelfBinaryPath + `"]`,
			`LABEL io.fleetctl.managed-by=fleetctl io.fleetctl.binary-sha256=` + sum,
			"WORKDIR /",
		},
	})
	pr.CloseWithError(errors.New("import ended"))
	if err != nil {
		return "", fmt.Errorf("helper image: import %s: %w", ref, err)
	}
	defer rc.Close()
	if err := drainJSONStream(rc); err != nil {
		return "", fmt.Errorf("helper image: import %s: %w", ref, err)
	}
	return ref, nil
}

// staticBinaryDigest returns the SHA-256 (hex) and size of the ELF binary at
// path, refusing a dynamically linked one (it would not run FROM scratch).
func staticBinaryDigest(path string) (string, int64, error) {
	ef, err := elf.Open(path)
	if err != nil {
		return "", 0, fmt.Errorf("%s is not a Linux binary: %w", path, err)
	}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			ef.Close()
			return "", 0, fmt.Errorf("%s is dynamically linked: build it with CGO_ENABLED=0 (make build)", path)
		}
	}
	ef.Close()
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// writeRootfs writes the image's whole file system: the binary, and an empty
// /tmp and /work for the agent's scratch files. Fixed times and owners keep
// the layer the same for the same binary.
func writeRootfs(w io.Writer, bin io.Reader, size int64) error {
	tw := tar.NewWriter(w)
	epoch := time.Unix(946684800, 0) // 2000-01-01
	dirs := []struct {
		name string
		mode int64
	}{{"usr/", 0o755}, {"usr/local/", 0o755}, {"usr/local/bin/", 0o755}, {"tmp/", 0o1777}, {"work/", 0o1777}}
	for _, d := range dirs {
		if err := tw.WriteHeader(&tar.Header{Name: d.name, Typeflag: tar.TypeDir, Mode: d.mode, ModTime: epoch}); err != nil {
			return err
		}
	}
	name := strings.TrimPrefix(SelfBinaryPath, "/")
	if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o755, Size: size, ModTime: epoch}); err != nil {
		return err
	}
	if n, err := io.Copy(tw, bin); err != nil {
		return err
	} else if n != size {
		return fmt.Errorf("the binary changed while it was read (%d of %d bytes)", n, size)
	}
	return tw.Close()
}

// tagSafe turns a version (a git describe: v1.2-3-gabc-dirty) into a tag
// component ([A-Za-z0-9_.-], at most 100 characters here).
func tagSafe(v string) string {
	b := []byte(v)
	for i, ch := range b {
		ok := ch == '_' || ch == '.' || ch == '-' || (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
		if !ok {
			b[i] = '_'
		}
	}
	s := strings.TrimLeft(string(b), ".-")
	if s == "" {
		s = "dev"
	}
	if len(s) > 100 {
		s = s[:100]
	}
	return s
}
