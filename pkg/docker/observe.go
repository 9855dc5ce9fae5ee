package docker

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/volume"

	"github.com/quantabase/fleetctl/pkg/observe"
)

// Observe takes one snapshot of the host for fleet: every container (managed
// or not, so the planner sees name and port collisions), the volumes
// labelled with fleet plus the unmanaged ones named in wantVolumes
// (old-script volumes to adopt), and the local images: the ones named in
// wantImages (the references the planner looks up), one inspect call per
// distinct reference, or every local image tag when wantImages is nil.
//
// Asking for the fleet's images by name is cheaper than the image list,
// which the engine builds from every image and layer on the host (the
// slowest of the calls on a host with many images). The calls are
// independent, so they are made concurrently: a no-op plan costs one engine
// round trip for all of them. They are not atomic together; a change in
// between shows up in the next snapshot, as with any level-triggered loop.
func (c *Client) Observe(ctx context.Context, fleet string, wantVolumes, wantImages []string) (*observe.State, error) {
	var (
		wg               sync.WaitGroup
		cs               []container.Summary
		vs               volume.ListResponse
		images           map[string]string
		cErr, vErr, iErr error
	)
	wg.Add(3)
	go func() { defer wg.Done(); cs, cErr = c.api.ContainerList(ctx, container.ListOptions{All: true}) }()
	go func() { defer wg.Done(); vs, vErr = c.api.VolumeList(ctx, volume.ListOptions{}) }()
	go func() { defer wg.Done(); images, iErr = c.LocalImages(ctx, wantImages) }()
	wg.Wait()
	switch {
	case cErr != nil:
		return nil, fmt.Errorf("observe fleet %s: list containers: %w", fleet, cErr)
	case vErr != nil:
		return nil, fmt.Errorf("observe fleet %s: list volumes: %w", fleet, vErr)
	case iErr != nil:
		return nil, fmt.Errorf("observe fleet %s: %w", fleet, iErr)
	}
	return &observe.State{
		Fleet:      fleet,
		Containers: containersOf(cs),
		Volumes:    volumesOf(vs.Volumes, fleet, wantVolumes),
		Images:     images,
	}, nil
}

// LocalImages maps image references (tags and digests) to local image IDs:
// of the images named in want, or of every local image when want is nil.
// An image is known by the references the engine lists for it, exactly as
// in the image list: a reference the engine would resolve only by
// normalising it ("nginx" for nginx:latest) is not one of them.
func (c *Client) LocalImages(ctx context.Context, want []string) (map[string]string, error) {
	if want == nil {
		is, err := c.api.ImageList(ctx, image.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("list images: %w", err)
		}
		return imagesOf(is), nil
	}
	seen := make(map[string]bool, len(want))
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		out   = map[string]string{}
		first error
	)
	for _, ref := range want {
		if ref == "" || seen[ref] {
			continue
		}
		seen[ref] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			im, err := c.api.ImageInspect(ctx, ref)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case cerrdefs.IsNotFound(err):
			case err != nil:
				if first == nil {
					first = fmt.Errorf("inspect image %s: %w", ref, err)
				}
			default:
				for k, v := range imagesOf([]image.Summary{{ID: im.ID, RepoTags: im.RepoTags, RepoDigests: im.RepoDigests}}) {
					out[k] = v
				}
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	return out, nil
}

func containersOf(list []container.Summary) []observe.Container {
	out := make([]observe.Container, 0, len(list))
	for _, s := range list {
		out = append(out, observe.Container{
			ID:      s.ID,
			Name:    primaryName(s.Names),
			Image:   s.Image,
			ImageID: s.ImageID,
			State:   string(s.State),
			Health:  healthOf(s.Status),
			Labels:  s.Labels,
			Ports:   portsOf(s.Ports),
			Mounts:  volumeMounts(s.Mounts),
			Created: s.Created,
		})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// volumeMounts lists the named volumes a container mounts, so the planner
// can refuse to start a second writer on a client's volume.
func volumeMounts(ms []container.MountPoint) []string {
	var out []string
	for _, m := range ms {
		if m.Type == "volume" && m.Name != "" {
			out = append(out, m.Name)
		}
	}
	sort.Strings(out)
	return out
}

// primaryName picks the container's own name: the engine also lists legacy
// link aliases ("/other/alias"), which have a second slash.
func primaryName(names []string) string {
	for _, n := range names {
		n = strings.TrimPrefix(n, "/")
		if !strings.Contains(n, "/") {
			return n
		}
	}
	if len(names) > 0 {
		return strings.TrimPrefix(names[0], "/")
	}
	return ""
}

// healthOf reads the health from the list's Status text ("Up 3 minutes
// (healthy)"): API 1.41 has no structured health in the container list, and
// inspecting each container would cost one call per container.
func healthOf(status string) string {
	switch {
	case strings.HasSuffix(status, "(healthy)"):
		return "healthy"
	case strings.HasSuffix(status, "(unhealthy)"):
		return "unhealthy"
	case strings.HasSuffix(status, "(health: starting)"):
		return "starting"
	}
	return ""
}

// portsOf keeps the published ports, each (host IP, host port) once, sorted.
func portsOf(ports []container.Port) []observe.PortBinding {
	var out []observe.PortBinding
	seen := map[observe.PortBinding]bool{}
	for _, p := range ports {
		if p.PublicPort == 0 {
			continue
		}
		b := observe.PortBinding{HostIP: p.IP, HostPort: int(p.PublicPort)}
		if seen[b] {
			continue
		}
		seen[b] = true
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].HostPort != out[j].HostPort {
			return out[i].HostPort < out[j].HostPort
		}
		return out[i].HostIP < out[j].HostIP
	})
	return out
}

func volumesOf(list []*volume.Volume, fleet string, want []string) []observe.Volume {
	wanted := make(map[string]bool, len(want))
	for _, n := range want {
		wanted[n] = true
	}
	var out []observe.Volume
	for _, v := range list {
		if v == nil {
			continue
		}
		// A wanted volume is kept whatever its labels: if another fleet owns
		// it, the planner must see that and report a conflict.
		if v.Labels[observe.LabelFleet] == fleet || wanted[v.Name] {
			out = append(out, observe.Volume{Name: v.Name, Labels: v.Labels})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func imagesOf(list []image.Summary) map[string]string {
	out := make(map[string]string, len(list))
	for _, im := range list {
		for _, tag := range im.RepoTags {
			if tag == "" || tag == "<none>:<none>" {
				continue
			}
			out[tag] = im.ID
		}
		for _, d := range im.RepoDigests { // "repo@sha256:...", for digest-pinned images
			if d != "" && !strings.HasPrefix(d, "<none>") {
				out[d] = im.ID
			}
		}
	}
	return out
}
