package docker

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"

	"github.com/quantabase/fleetctl/pkg/observe"
)

// inspectParallelism bounds the concurrent inspect calls of one snapshot.
const inspectParallelism = 16

// logLinesDown is how many log lines a snapshot keeps of a container that is down.
const logLinesDown = 5

// InspectRuntime returns id's real state (nil, nil when it does not exist):
// the health gate polls it.
func (c *Client) InspectRuntime(ctx context.Context, id string) (*observe.Runtime, error) {
	info, err := c.api.ContainerInspect(ctx, id)
	if cerrdefs.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("inspect container %s: %w", id, err)
	}
	return runtimeOf(info), nil
}

// InspectInto inspects each container and fills its Runtime (and, with
// verify, the configuration it runs with). A container that is down also
// gets its last log lines, masked. At most inspectParallelism calls run at
// once; a container whose inspect fails or does not answer before ctx ends
// keeps a nil Runtime, and its name is returned.
//
// With verify, each distinct image the containers run (known from the
// container list) is inspected once, at the same time as the containers,
// not once per container after its own inspect.
func (c *Client) InspectInto(ctx context.Context, cs []*observe.Container, verify bool) (missed []string) {
	return c.newInspection("", verify).Into(ctx, cs)
}

// Inspection is one snapshot's inspect calls. InspectEarly starts them by
// container name before the container list is read, so they overlap it;
// Into then uses each answer whose container ID is the listed one, and
// inspects by ID whatever was not answered that way (a container recreated
// in between, a name the engine resolved to another container).
type Inspection struct {
	c      *Client
	fleet  string
	verify bool
	sem    chan struct{}
	images *imageEnvs
	early  map[string]*earlyInspect
}

type earlyInspect struct {
	done chan struct{}
	id   string
	rt   *observe.Runtime
	err  error
}

func (c *Client) newInspection(fleet string, verify bool) *Inspection {
	return &Inspection{c: c, fleet: fleet, verify: verify, sem: make(chan struct{}, inspectParallelism),
		images: &imageEnvs{c: c, m: map[string]*imageEnv{}}}
}

// InspectEarly starts inspecting the containers named names (the fleet's
// client containers), within the same bound of concurrent calls, and
// returns at once. A container's logs are read only when it carries
// fleet's labels.
func (c *Client) InspectEarly(ctx context.Context, fleet string, names []string, verify bool) *Inspection {
	in := c.newInspection(fleet, verify)
	in.early = make(map[string]*earlyInspect, len(names))
	for _, n := range names {
		if _, dup := in.early[n]; dup || n == "" {
			continue
		}
		e := &earlyInspect{done: make(chan struct{})}
		in.early[n] = e
		go func() {
			defer close(e.done)
			e.id, e.rt, e.err = in.inspect(ctx, n)
		}()
	}
	return in
}

// Into fills each container's Runtime (see InspectInto) and returns the
// names of those it could not inspect.
func (in *Inspection) Into(ctx context.Context, cs []*observe.Container) (missed []string) {
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	if in.verify {
		for _, ctr := range cs {
			if ctr.ImageID != "" {
				wg.Add(1)
				go func() { defer wg.Done(); in.images.get(ctx, ctr.ImageID) }()
			}
		}
	}
	for _, ctr := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if e := in.early[ctr.Name]; e != nil {
				select {
				case <-e.done:
				case <-ctx.Done():
				}
				if e.err == nil && e.id == ctr.ID && e.rt != nil {
					ctr.Runtime = e.rt
					return
				}
			}
			_, rt, err := in.inspect(ctx, ctr.ID)
			if err != nil {
				mu.Lock()
				missed = append(missed, ctr.Name)
				mu.Unlock()
				return
			}
			ctr.Runtime = rt
		}()
	}
	wg.Wait()
	return missed
}

// inspect is one container's inspect (by ID or name), at most
// inspectParallelism at a time: its runtime, its last log lines when it is
// down, and with verify the configuration it runs with.
func (in *Inspection) inspect(ctx context.Context, ref string) (string, *observe.Runtime, error) {
	select {
	case in.sem <- struct{}{}:
	case <-ctx.Done():
		return "", nil, ctx.Err()
	}
	defer func() { <-in.sem }()
	info, err := in.c.api.ContainerInspect(ctx, ref)
	if err != nil {
		return "", nil, err
	}
	if info.ContainerJSONBase == nil {
		return "", nil, fmt.Errorf("inspect container %s: no container in the answer", ref)
	}
	rt := runtimeOf(info)
	mine := in.early == nil || info.Config != nil && observe.Managed(info.Config.Labels, in.fleet)
	if rt.Down() && rt.Status != "created" && mine {
		if out, err := in.c.ContainerLogsTail(ctx, info.ID, logLinesDown); err == nil {
			rt.Logs = splitLines(out)
		}
	}
	if in.verify {
		rt.Config = runConfigOf(info)
		rt.Config.ImageEnv = in.images.get(ctx, info.Image)
	}
	return info.ID, rt, nil
}

// imageEnvs inspects each image once, however many containers ask for it.
type imageEnvs struct {
	c  *Client
	mu sync.Mutex
	m  map[string]*imageEnv
}

type imageEnv struct {
	once sync.Once
	env  map[string]string
}

func (ie *imageEnvs) get(ctx context.Context, id string) map[string]string {
	ie.mu.Lock()
	e := ie.m[id]
	if e == nil {
		e = &imageEnv{}
		ie.m[id] = e
	}
	ie.mu.Unlock()
	e.once.Do(func() { e.env = ie.c.imageEnv(ctx, id) })
	return e.env
}

func (c *Client) imageEnv(ctx context.Context, id string) map[string]string {
	im, err := c.api.ImageInspect(ctx, id)
	if err != nil || im.Config == nil {
		return nil
	}
	return envMap(im.Config.Env)
}

func runtimeOf(info container.InspectResponse) *observe.Runtime {
	rt := &observe.Runtime{}
	if s := info.State; s != nil {
		rt.Status, rt.Running, rt.Restarting, rt.ExitCode = string(s.Status), s.Running, s.Restarting, s.ExitCode
		if s.Health != nil {
			rt.Health = string(s.Health.Status)
		}
	}
	if info.ContainerJSONBase != nil {
		rt.RestartCount = info.RestartCount
	}
	return rt
}

func runConfigOf(info container.InspectResponse) *observe.RunConfig {
	rc := &observe.RunConfig{}
	if info.Config != nil {
		rc.Image, rc.Env = info.Config.Image, envMap(info.Config.Env)
	}
	if h := info.HostConfig; h != nil {
		rc.Restart = string(h.RestartPolicy.Name)
		if rc.Restart == "" {
			rc.Restart = "no"
		}
		rc.Memory, rc.CPUs = h.Memory, h.NanoCPUs
		for port, bs := range h.PortBindings {
			for _, b := range bs {
				hp, _ := strconv.Atoi(b.HostPort)
				rc.Ports = append(rc.Ports, observe.PortMapping{HostIP: b.HostIP, HostPort: hp, ContainerPort: port.Int()})
			}
		}
	}
	for _, m := range info.Mounts {
		switch m.Type {
		case "volume":
			rc.Mounts = append(rc.Mounts, observe.Mount{Volume: m.Name, Target: m.Destination})
		default:
			rc.Mounts = append(rc.Mounts, observe.Mount{Source: m.Source, Target: m.Destination})
		}
	}
	return rc
}

func envMap(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

func splitLines(s string) []string {
	s = strings.TrimRight(s, "\n\r\t ")
	if s == "" {
		return nil
	}
	lines := strings.Split(s, "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], "\r")
	}
	return lines
}
