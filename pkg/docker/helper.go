package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/pkg/stdcopy"
)

// HelperMount is a volume mounted into a helper container.
type HelperMount struct {
	Volume   string
	Target   string
	ReadOnly bool
}

// HelperRun is one short-lived helper container: fleetctl's own image (see
// EnsureSelfImage) running a hidden `fleetctl agent …` verb next to a
// client's volume. Stdin, when set, is streamed to the agent; its stdout is
// streamed to Stdout; both through the Engine API, so a remote engine works.
type HelperRun struct {
	Name   string // container name (a fleet-scoped, unique one)
	Image  string
	Args   []string // after the entrypoint (the fleetctl binary)
	Mounts []HelperMount
	Labels map[string]string
	Stdin  io.Reader
	Stdout io.Writer
}

// ErrHelperFailed is wrapped by RunHelper when the agent exits non-zero; the
// error carries the last lines it wrote to stderr.
var ErrHelperFailed = errors.New("helper container failed")

// RunHelper creates, starts and waits for the helper container and removes
// it (also when ctx ends). It returns an error wrapping ErrHelperFailed when
// the agent exits non-zero, with its stderr.
func (c *Client) RunHelper(ctx context.Context, h HelperRun) error {
	cfg := &container.Config{
		Image: h.Image, Cmd: h.Args, Labels: h.Labels,
		AttachStdout: true, AttachStderr: true,
		AttachStdin: h.Stdin != nil, OpenStdin: h.Stdin != nil, StdinOnce: h.Stdin != nil,
	}
	host := &container.HostConfig{
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
		NetworkMode:   "none",
	}
	for _, m := range h.Mounts {
		host.Mounts = append(host.Mounts, mount.Mount{Type: mount.TypeVolume, Source: m.Volume, Target: m.Target, ReadOnly: m.ReadOnly})
	}
	resp, err := c.api.ContainerCreate(ctx, cfg, host, nil, nil, h.Name)
	if err != nil {
		return fmt.Errorf("create helper container %s: %w", h.Name, err)
	}
	id := resp.ID
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = c.RemoveContainer(rctx, id)
	}()
	att, err := c.api.ContainerAttach(ctx, id, container.AttachOptions{Stream: true, Stdin: h.Stdin != nil, Stdout: true, Stderr: true})
	if err != nil {
		return fmt.Errorf("attach to helper container %s: %w", h.Name, err)
	}
	defer att.Close()
	if err := c.api.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return fmt.Errorf("start helper container %s: %w", h.Name, err)
	}
	stdinErr := make(chan error, 1)
	if h.Stdin != nil {
		go func() {
			_, err := io.Copy(att.Conn, h.Stdin)
			if cerr := att.CloseWrite(); err == nil {
				err = cerr
			}
			stdinErr <- err
		}()
	} else {
		stdinErr <- nil
	}
	stdout := h.Stdout
	if stdout == nil {
		stdout = io.Discard
	}
	var stderr tailBuffer
	_, copyErr := stdcopy.StdCopy(stdout, &stderr, att.Reader)
	if copyErr != nil {
		// Nobody reads the agent's output any more: it would block on it.
		_ = c.api.ContainerKill(context.WithoutCancel(ctx), id, "KILL")
	}
	waitC, errC := c.api.ContainerWait(ctx, id, container.WaitConditionNotRunning)
	var code int64
	select {
	case w := <-waitC:
		code = w.StatusCode
		if w.Error != nil && w.Error.Message != "" {
			return fmt.Errorf("helper container %s: %s", h.Name, w.Error.Message)
		}
	case err := <-errC:
		return fmt.Errorf("wait for helper container %s: %w", h.Name, err)
	}
	if code != 0 {
		return fmt.Errorf("%w: %s exited %d: %s", ErrHelperFailed, strings.Join(h.Args, " "), code,
			masked(ctx, errors.New(strings.TrimSpace(stderr.String()))))
	}
	if copyErr != nil {
		return fmt.Errorf("helper container %s output: %w", h.Name, copyErr)
	}
	if err := <-stdinErr; err != nil {
		return fmt.Errorf("helper container %s input: %w", h.Name, err)
	}
	return nil
}

// tailBuffer keeps the last 8 KiB written to it.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 8<<10 {
		t.b = t.b[len(t.b)-8<<10:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.b) }

// drainJSONStream reads a JSON message stream of the engine (import, build)
// to its end and returns the first error it reports.
func drainJSONStream(r io.Reader) error {
	dec := json.NewDecoder(r)
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
			return err
		}
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			return errors.New(m.ErrorDetail.Message)
		}
		if m.Error != "" {
			return errors.New(m.Error)
		}
	}
}
