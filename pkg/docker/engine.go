package docker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/docker/go-connections/nat"

	"github.com/quantabase/fleetctl/pkg/observe"
	"github.com/quantabase/fleetctl/pkg/redact"
	"github.com/quantabase/fleetctl/pkg/resource"
)

var (
	// ErrNameInUse: a container with the requested name already exists.
	ErrNameInUse = errors.New("container name already in use")
	// ErrVolumeOwned: the volume exists and belongs to another fleet or client.
	ErrVolumeOwned = errors.New("volume belongs to someone else")
)

// EnsureVolume creates v with its labels, or accepts the existing volume of
// that name. An existing volume without fleetctl labels (made by the old
// scripts) is adopted as it is: Docker cannot relabel a volume, and its data
// is the point. One labelled for another fleet or client is refused.
func (c *Client) EnsureVolume(ctx context.Context, v resource.Volume) error {
	got, err := c.api.VolumeCreate(ctx, volume.CreateOptions{Name: v.Name, Driver: "local", Labels: v.Labels})
	if err != nil {
		return fmt.Errorf("create volume %s: %w", v.Name, err)
	}
	for _, k := range []string{observe.LabelFleet, observe.LabelClient} {
		if have, want := got.Labels[k], v.Labels[k]; have != "" && want != "" && have != want {
			return fmt.Errorf("create volume %s: it exists with label %s=%q, want %q: %w",
				v.Name, k, have, want, ErrVolumeOwned)
		}
	}
	return nil
}

// PullImage pulls ref and drains the progress stream, which is where the
// engine reports most pull failures.
func (c *Client) PullImage(ctx context.Context, ref string) error {
	rc, err := c.api.ImagePull(ctx, ref, image.PullOptions{})
	if err != nil {
		return c.pullError(ctx, ref, err)
	}
	defer rc.Close()
	dec := json.NewDecoder(rc)
	for {
		var m struct {
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&m); err == io.EOF {
			return nil
		} else if err != nil {
			return c.pullError(ctx, ref, err)
		}
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			return c.pullError(ctx, ref, errors.New(m.ErrorDetail.Message))
		}
		if m.Error != "" {
			return c.pullError(ctx, ref, errors.New(m.Error))
		}
	}
}

// pullError words a failed pull with advice that fits the policy that asked
// for it: a pull of an image the host already has comes from
// pullPolicy: always (if-not-present would use it), while a pull of a
// missing image fails under every policy.
func (c *Client) pullError(ctx context.Context, ref string, err error) error {
	if ctx.Err() != nil {
		err = fmt.Errorf("no answer from the registry in time: %w", ctx.Err())
	}
	ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_, ierr := c.api.ImageInspect(ictx, ref)
	advice := "make its registry reachable, or build or load the image on the Docker host"
	switch {
	case ierr == nil:
		advice = "the image is on the Docker host: pullPolicy: if-not-present would use it without pulling"
	case cerrdefs.IsNotFound(ierr):
		advice = "the image is not on the Docker host either, so no pullPolicy helps: " +
			"build or load it there (docker build, docker load), or make its registry reachable"
	}
	return fmt.Errorf("pull image %s: %w (%s)", ref, err, advice)
}

// CreateContainer creates (does not start) c and returns its ID.
func (c *Client) CreateContainer(ctx context.Context, rc resource.Container) (string, error) {
	cfg, host, err := containerConfig(rc)
	if err != nil {
		return "", fmt.Errorf("create container %s: %w", rc.Name, err)
	}
	return c.create(ctx, rc.Name, cfg, host)
}

// create is the one ContainerCreate call (CreateContainer and
// CreateEphemeralContainer both build their config with containerConfig).
func (c *Client) create(ctx context.Context, name string, cfg *container.Config, host *container.HostConfig) (string, error) {
	resp, err := c.api.ContainerCreate(ctx, cfg, host, nil, nil, name)
	if err != nil {
		if cerrdefs.IsConflict(err) {
			return "", fmt.Errorf("create container %s: %w (%w)", name, ErrNameInUse, err)
		}
		return "", masked(ctx, fmt.Errorf("create container %s: %w", name, err))
	}
	return resp.ID, nil
}

// masked masks an error that may carry what the engine was sent (env
// values) or what a container printed: the engine and runc echo env pairs
// in their errors (see pkg/redact for where the masker comes from).
func masked(ctx context.Context, err error) error {
	return redact.FromContext(ctx).Error(err)
}

func containerConfig(rc resource.Container) (*container.Config, *container.HostConfig, error) {
	env := make([]string, 0, len(rc.Env))
	for _, e := range rc.Env {
		env = append(env, e.Name+"="+e.Value)
	}
	policy, err := restartPolicy(rc.RestartPolicy)
	if err != nil {
		return nil, nil, err
	}
	cfg := &container.Config{Image: rc.Image, Env: env, Labels: rc.Labels}
	host := &container.HostConfig{
		RestartPolicy: policy,
		Resources:     container.Resources{Memory: rc.MemoryBytes, NanoCPUs: rc.NanoCPUs},
	}
	if rc.Volume != "" {
		if rc.MountPath == "" {
			return nil, nil, fmt.Errorf("volume %s has no mount path", rc.Volume)
		}
		host.Mounts = []mount.Mount{{Type: mount.TypeVolume, Source: rc.Volume, Target: rc.MountPath}}
	}
	for _, m := range rc.Mounts {
		if m.Volume == "" || m.Target == "" {
			return nil, nil, fmt.Errorf("mount %q at %q: volume and target are required", m.Volume, m.Target)
		}
		host.Mounts = append(host.Mounts, mount.Mount{Type: mount.TypeVolume, Source: m.Volume, Target: m.Target})
	}
	for _, b := range rc.Binds {
		if b.Source == "" || b.Target == "" {
			return nil, nil, fmt.Errorf("bind %q at %q: source and target are required", b.Source, b.Target)
		}
		host.Mounts = append(host.Mounts, mount.Mount{Type: mount.TypeBind, Source: b.Source, Target: b.Target, ReadOnly: b.ReadOnly})
	}
	if rc.NetworkMode != "" {
		host.NetworkMode = container.NetworkMode(rc.NetworkMode)
	}
	if len(rc.Cmd) > 0 {
		cfg.Cmd = append([]string(nil), rc.Cmd...)
	}
	if rc.ContainerPort > 0 && !host.NetworkMode.IsHost() {
		port := nat.Port(strconv.Itoa(rc.ContainerPort) + "/tcp")
		cfg.ExposedPorts = nat.PortSet{port: struct{}{}}
		if rc.HostPort > 0 {
			host.PortBindings = nat.PortMap{port: {{HostIP: rc.BindAddress, HostPort: strconv.Itoa(rc.HostPort)}}}
		}
	}
	return cfg, host, nil
}

func restartPolicy(name string) (container.RestartPolicy, error) {
	switch m := container.RestartPolicyMode(name); m {
	case "", container.RestartPolicyDisabled:
		return container.RestartPolicy{Name: container.RestartPolicyDisabled}, nil
	case container.RestartPolicyAlways, container.RestartPolicyUnlessStopped, container.RestartPolicyOnFailure:
		return container.RestartPolicy{Name: m}, nil
	}
	return container.RestartPolicy{}, fmt.Errorf("unknown restart policy %q (want no, always, unless-stopped or on-failure)", name)
}

// SetRestartPolicy changes the restart policy of an existing container. A
// container parked during a recreate gets "no", so an engine or host restart
// never starts it beside its replacement on the same volume.
func (c *Client) SetRestartPolicy(ctx context.Context, id, policy string) error {
	rp, err := restartPolicy(policy)
	if err != nil {
		return fmt.Errorf("update container %s: %w", id, err)
	}
	if _, err := c.api.ContainerUpdate(ctx, id, container.UpdateConfig{RestartPolicy: rp}); err != nil {
		return fmt.Errorf("update restart policy of container %s: %w", id, err)
	}
	return nil
}

// StartContainer starts id; starting a running container succeeds.
func (c *Client) StartContainer(ctx context.Context, id string) error {
	if err := c.api.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return masked(ctx, fmt.Errorf("start container %s: %w", id, err))
	}
	return nil
}

// StopContainer stops id, killing it after timeout (rounded up to seconds;
// negative means the container's own default). A stopped or missing container
// is already where we want it, so both succeed.
func (c *Client) StopContainer(ctx context.Context, id string, timeout time.Duration) error {
	var opts container.StopOptions
	if timeout >= 0 {
		secs := int(math.Ceil(timeout.Seconds()))
		opts.Timeout = &secs
	}
	if err := c.api.ContainerStop(ctx, id, opts); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("stop container %s: %w", id, err)
	}
	return nil
}

// KillContainer sends SIGKILL to id: a crash, no clean shutdown (fleetctl
// certify's failover drill).
func (c *Client) KillContainer(ctx context.Context, id string) error {
	if err := c.api.ContainerKill(ctx, id, "KILL"); err != nil {
		return masked(ctx, fmt.Errorf("kill container %s: %w", id, err))
	}
	return nil
}

// RenameContainer renames id to name.
func (c *Client) RenameContainer(ctx context.Context, id, name string) error {
	if err := c.api.ContainerRename(ctx, id, name); err != nil {
		if cerrdefs.IsConflict(err) {
			return fmt.Errorf("rename container %s to %s: %w (%w)", id, name, ErrNameInUse, err)
		}
		return fmt.Errorf("rename container %s to %s: %w", id, name, err)
	}
	return nil
}

// RemoveContainer force-removes id and never its volumes. Missing is fine.
func (c *Client) RemoveContainer(ctx context.Context, id string) error {
	err := c.api.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: false})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove container %s: %w", id, err)
	}
	return nil
}

// ContainerState returns the state of id ("created", "running", "exited",
// ...), or "" with a nil error when there is no such container.
func (c *Client) ContainerState(ctx context.Context, id string) (string, error) {
	info, err := c.api.ContainerInspect(ctx, id)
	if cerrdefs.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("inspect container %s: %w", id, err)
	}
	if info.State == nil {
		return "", fmt.Errorf("inspect container %s: no state in the answer", id)
	}
	return string(info.State.Status), nil
}

// ContainerLogsTail returns the last n lines of id's output, stdout and
// stderr interleaved as the engine stored them.
func (c *Client) ContainerLogsTail(ctx context.Context, id string, n int) (string, error) {
	tail := "all"
	if n > 0 {
		tail = strconv.Itoa(n)
	}
	rc, err := c.api.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: tail})
	if err != nil {
		return "", fmt.Errorf("logs of container %s: %w", id, err)
	}
	defer rc.Close()
	raw, err := io.ReadAll(rc)
	if err != nil {
		return "", fmt.Errorf("logs of container %s: %w", id, err)
	}
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, bytes.NewReader(raw)); err != nil {
		// A container with a TTY has one raw stream, not multiplexed frames.
		return redact.FromContext(ctx).String(string(raw)), nil
	}
	// Applications log their connection strings and keys.
	return redact.FromContext(ctx).String(out.String()), nil
}
