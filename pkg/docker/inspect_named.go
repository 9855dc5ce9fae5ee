package docker

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"

	"github.com/quantabase/fleetctl/pkg/observe"
	"github.com/quantabase/fleetctl/pkg/redact"
)

// InspectNamed inspects every container whose name starts with prefix (the
// old scripts' openwebui-), with its image's own environment taken out of
// its Env, so what remains is what whoever ran it set.
func (c *Client) InspectNamed(ctx context.Context, prefix string) ([]observe.ContainerDetail, error) {
	m := redact.FromContext(ctx)
	list, err := c.api.ContainerList(ctx, container.ListOptions{All: true})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", m.Error(err))
	}
	imageEnv := map[string]map[string]bool{}
	var out []observe.ContainerDetail
	for _, s := range list {
		name := primaryName(s.Names)
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		ci, err := c.api.ContainerInspect(ctx, s.ID)
		if err != nil {
			return nil, fmt.Errorf("inspect container %s: %w", name, m.Error(err))
		}
		if _, ok := imageEnv[ci.Image]; !ok {
			ii, err := c.api.ImageInspect(ctx, ci.Image)
			if err != nil {
				return nil, fmt.Errorf("inspect image of container %s: %w", name, m.Error(err))
			}
			set := map[string]bool{}
			if ii.Config != nil {
				for _, e := range ii.Config.Env {
					set[e] = true
				}
			}
			imageEnv[ci.Image] = set
		}
		out = append(out, detailOf(name, ci, imageEnv[ci.Image]))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func detailOf(name string, ci container.InspectResponse, imageEnv map[string]bool) observe.ContainerDetail {
	d := observe.ContainerDetail{ID: ci.ID, Name: name, ImageID: ci.Image, Ports: map[string][]observe.PortBinding{}}
	if ci.State != nil {
		d.State = ci.State.Status
	}
	if ci.Config != nil {
		d.Image, d.Labels = ci.Config.Image, ci.Config.Labels
		for _, e := range ci.Config.Env {
			if !imageEnv[e] {
				d.Env = append(d.Env, e)
			}
		}
	}
	if hc := ci.HostConfig; hc != nil {
		d.RestartPolicy = string(hc.RestartPolicy.Name)
		d.MemoryBytes, d.NanoCPUs = hc.Memory, hc.NanoCPUs
		for port, bs := range hc.PortBindings {
			for _, b := range bs {
				p, err := strconv.Atoi(b.HostPort)
				if err != nil {
					continue
				}
				d.Ports[string(port)] = append(d.Ports[string(port)], observe.PortBinding{HostIP: b.HostIP, HostPort: p})
			}
		}
	}
	for _, mp := range ci.Mounts {
		d.Mounts = append(d.Mounts, observe.DetailMount{Type: string(mp.Type), Name: mp.Name, Source: mp.Source, Destination: mp.Destination})
	}
	return d
}
