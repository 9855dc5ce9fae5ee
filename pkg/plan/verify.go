package plan

import (
	"slices"
	"strings"

	"github.com/quantabase/fleetctl/pkg/observe"
)

// verifyRuntime compares what the container really runs with (inspect)
// against what fleet.yaml wants, so a container recreated by hand with
// copied labels is not taken at its word. It names each field that differs;
// values of sensitive env vars are compared as keyed digests and never
// shown, and env vars the container has beyond fleet.yaml's and its image's
// are shown by name only (their values may be secrets). Nil when the
// container was not verified or matches.
func verifyRuntime(rc *observe.RunConfig, d *Desired) []Change {
	if rc == nil {
		return nil
	}
	want := &d.Config
	got := ContainerConfig{
		Image: rc.Image, BindAddress: want.BindAddress, HostPort: want.HostPort, Volume: want.Volume,
		Restart: restartName(rc.Restart), MemoryBytes: rc.Memory, NanoCPUs: rc.CPUs,
		Env: make(map[string]string, len(rc.Env)),
	}
	wantSens := map[string]bool{}
	for _, k := range want.Sensitive {
		wantSens[k] = true
	}
	var sens []string
	for k, v := range rc.Env {
		_, wanted := want.Env[k]
		if iv, ok := rc.ImageEnv[k]; ok && iv == v && !wanted {
			continue // set by the image, not by whoever created the container
		}
		switch {
		case wantSens[k]:
			got.Env[k] = "hmac:" + keyedDigest(d.key, k+"="+v)
			sens = append(sens, k)
		case !wanted:
			got.Env[k] = v
			sens = append(sens, k) // unknown to fleet.yaml: it may be a secret
		default:
			got.Env[k] = v
		}
	}
	got.Sensitive = sens
	w := *want
	w.Restart = restartName(w.Restart)
	changes := diffConfig(&got, &w)
	if g, wp := portsOf(rc.Ports), wantPorts(d); g != wp {
		changes = append(changes, Change{Field: "ports", Before: g, After: wp})
	}
	if g, wm := mountsOf(rc.Mounts), "volume "+d.Container.Volume+":"+d.Container.MountPath; g != wm {
		changes = append(changes, Change{Field: "mounts", Before: g, After: wm})
	}
	return changes
}

func restartName(p string) string {
	if p == "" {
		return "no"
	}
	return p
}

func portsOf(ps []observe.PortMapping) string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		if p.HostIP == "0.0.0.0" {
			p.HostIP = ""
		}
		out = append(out, p.String())
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

func wantPorts(d *Desired) string {
	c := &d.Container
	if c.HostPort == 0 {
		return ""
	}
	bind := c.BindAddress
	if bind == "0.0.0.0" {
		bind = ""
	}
	return observe.PortMapping{HostIP: bind, HostPort: c.HostPort, ContainerPort: c.ContainerPort}.String()
}

func mountsOf(ms []observe.Mount) string {
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		if m.Volume != "" {
			out = append(out, "volume "+m.Volume+":"+m.Target)
		} else {
			out = append(out, "bind "+m.Source+":"+m.Target)
		}
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

// causesOf words changes as causes: "env WEBUI_NAME changed".
func causesOf(changes []Change, suffix string) []string {
	causes := make([]string, 0, len(changes))
	for _, ch := range changes {
		name := strings.Replace(ch.Field, "env.", "env ", 1)
		switch {
		case ch.Added:
			causes = append(causes, name+" added"+suffix)
		case ch.Removed:
			causes = append(causes, name+" removed"+suffix)
		default:
			causes = append(causes, name+" changed"+suffix)
		}
	}
	return causes
}

// sensitiveValues are the secret values a client's containers hold: the
// desired ones and, for the names fleet.yaml marks sensitive, the running
// container's own (a hand-made container may hold another password).
func sensitiveValues(d *Desired, primary *observe.Container) []string {
	var out []string
	for _, e := range d.Container.Env {
		if e.Sensitive {
			out = append(out, e.Value)
		}
	}
	if rt := primary.Runtime; rt != nil && rt.Config != nil {
		for _, k := range d.Config.Sensitive {
			if v := rt.Config.Env[k]; v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}
