package docker

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strconv"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"

	"github.com/quantabase/fleetctl/pkg/resource"
)

// File transfer through the Engine API (the archive endpoints), so it works
// the same with a remote engine (tcp://, ssh://) as with the local socket.
// The engine mounts a stopped container's volumes for these calls, so a
// client's data can be read and written while it is not running.

// CopyFileFromContainer writes the content of the regular file at
// filePath inside container id to w. A missing file is fs.ErrNotExist
// (errors.Is), with nothing written.
func (c *Client) CopyFileFromContainer(ctx context.Context, id, filePath string, w io.Writer) (int64, error) {
	rc, stat, err := c.api.CopyFromContainer(ctx, id, filePath)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return 0, fmt.Errorf("copy %s out of container %s: %w", filePath, shortID(id), fs.ErrNotExist)
		}
		return 0, fmt.Errorf("copy %s out of container %s: %w", filePath, shortID(id), err)
	}
	defer rc.Close()
	if !stat.Mode.IsRegular() {
		return 0, fmt.Errorf("copy %s out of container %s: not a regular file (%s)", filePath, shortID(id), stat.Mode)
	}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return 0, fmt.Errorf("copy %s out of container %s: the archive holds no regular file", filePath, shortID(id))
		}
		if err != nil {
			return 0, fmt.Errorf("copy %s out of container %s: %w", filePath, shortID(id), err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		n, err := io.Copy(w, tr)
		if err != nil {
			return n, fmt.Errorf("copy %s out of container %s: %w", filePath, shortID(id), err)
		}
		if n != h.Size {
			return n, fmt.Errorf("copy %s out of container %s: got %d of %d bytes", filePath, shortID(id), n, h.Size)
		}
		return n, nil
	}
}

// CopyFileToContainer creates (or replaces) the file dir/name inside
// container id with size bytes read from r, mode 0644. dir must exist.
func (c *Client) CopyFileToContainer(ctx context.Context, id, dir, name string, r io.Reader, size int64) error {
	if name == "" || path.Base(name) != name || name == "." || name == ".." {
		return fmt.Errorf("copy into container %s: invalid file name %q", shortID(id), name)
	}
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: size, ModTime: time.Now(), Typeflag: tar.TypeReg})
		if err == nil {
			var n int64
			n, err = io.Copy(tw, io.LimitReader(r, size))
			if err == nil && n != size {
				err = fmt.Errorf("short read: %d of %d bytes", n, size)
			}
		}
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	err := c.api.CopyToContainer(ctx, id, dir, pr, container.CopyToContainerOptions{})
	pr.CloseWithError(errors.New("copy ended")) // unblocks the writer if the engine stopped reading
	if err != nil {
		return fmt.Errorf("copy %s into container %s: %w", path.Join(dir, name), shortID(id), err)
	}
	return nil
}

// CreateEphemeralContainer creates (does not start) a short-lived helper
// container from rc: its container port is published on an engine-chosen
// host port of rc.BindAddress (default 127.0.0.1), no restart policy, and
// no volume unless rc.Volume is set. Read the port with PublishedPort after
// starting it.
func (c *Client) CreateEphemeralContainer(ctx context.Context, rc resource.Container) (string, error) {
	rc.RestartPolicy = string(container.RestartPolicyDisabled)
	if rc.BindAddress == "" {
		rc.BindAddress = "127.0.0.1"
	}
	if rc.MountPath == "" {
		rc.Volume = "" // no volume unless both are set
	}
	cfg, host, err := containerConfig(rc)
	if err != nil {
		return "", fmt.Errorf("create container %s: %w", rc.Name, err)
	}
	if rc.ContainerPort > 0 && rc.HostPort == 0 { // engine-chosen host port
		port := nat.Port(strconv.Itoa(rc.ContainerPort) + "/tcp")
		host.PortBindings = nat.PortMap{port: {{HostIP: rc.BindAddress, HostPort: ""}}}
	}
	return c.create(ctx, rc.Name, cfg, host)
}

// PublishedPort returns the host port a running container publishes its
// containerPort/tcp on (0 when it publishes none).
func (c *Client) PublishedPort(ctx context.Context, id string, containerPort int) (int, error) {
	info, err := c.api.ContainerInspect(ctx, id)
	if err != nil {
		return 0, fmt.Errorf("inspect container %s: %w", shortID(id), err)
	}
	if info.NetworkSettings == nil {
		return 0, nil
	}
	for _, b := range info.NetworkSettings.Ports[nat.Port(strconv.Itoa(containerPort)+"/tcp")] {
		if p, err := strconv.Atoi(b.HostPort); err == nil && p > 0 {
			return p, nil
		}
	}
	return 0, nil
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
