package plan

import (
	"sort"
	"strconv"
	"strings"

	"github.com/quantabase/fleetctl/pkg/observe"
)

func containerView(cfg *ContainerConfig, run bool) map[string]any {
	env := make(map[string]any, len(cfg.Env))
	sens := map[string]bool{}
	for _, k := range cfg.Sensitive {
		sens[k] = true
	}
	for k, v := range cfg.Env {
		if sens[k] {
			env[k] = Masked
		} else {
			env[k] = v
		}
	}
	state := "running"
	if !run {
		state = "stopped"
	}
	return map[string]any{
		"image": cfg.Image, "port": cfg.BindAddress + ":" + strconv.Itoa(cfg.HostPort),
		"volume": cfg.Volume, "restartPolicy": cfg.Restart, "env": env, "state": state,
		"memoryBytes": cfg.MemoryBytes, "nanoCPUs": cfg.NanoCPUs,
	}
}

func observedView(c *observe.Container) map[string]any {
	v := map[string]any{"id": shortID(c.ID), "name": c.Name, "image": c.Image, "state": c.State}
	if cfg := parseConfig(c.Labels); cfg != nil {
		for k, x := range containerView(cfg, c.Running()) {
			if k != "state" {
				v[k] = x
			}
		}
	}
	return v
}

// Masked replaces every sensitive value in any output.
const Masked = "(sensitive)"

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// sortActions orders images, then volumes, then containers, each by ID, so
// output is stable whatever the input order.
func sortActions(as []Action) {
	rank := func(k Kind) int {
		switch k {
		case KindPullImage:
			return 0
		case KindCreateVolume, KindProvisionSync:
			return 1
		}
		return 2
	}
	sort.SliceStable(as, func(i, j int) bool {
		ri, rj := rank(as[i].Kind), rank(as[j].Kind)
		if ri != rj {
			return ri < rj
		}
		return as[i].ID < as[j].ID
	})
}
