package fleet

import (
	"errors"
	"maps"
	"strconv"
	"strings"
)

// applyDefaults fills every client field from defaults (then built-in
// defaults), so the planner reads only Client fields. Pointers and maps are
// fresh copies per client: changing one client never changes another.
func applyDefaults(s *Spec, ix nodeIndex) {
	applyProxyDefaults(s.Proxy)           // proxy.go
	applyMonitoringDefaults(s.Monitoring) // monitoring.go
	if s.Rollout == nil {
		s.Rollout = &Rollout{}
	}
	if s.Rollout.Canary == nil {
		n := DefaultCanary
		s.Rollout.Canary = &n
	}
	if s.Rollout.MaxParallel == 0 {
		s.Rollout.MaxParallel = DefaultMaxParallel
	}
	for i := range s.Clients {
		c := &s.Clients[i]
		if n := ix.val(joinIndex("clients", i)); n != nil {
			c.Line, c.Column = n.Line, n.Column
		}
		if c.State == "" {
			c.State = StateRunning
		}
		c.Settings.inherit(&s.Defaults.Settings)
		if c.Database == nil {
			c.Database = &Database{}
		}
		if c.Database.Backend == "" {
			c.Database.Backend = BackendSQLite
		}
	}
}

// inherit fills c from d and then from the built-in defaults: scalars when
// unset, env laid over d's, healthCheck merged field by field, oauth and
// resources replaced as a whole.
func (c *Settings) inherit(d *Settings) {
	c.Image = NormalizeImage(first(c.Image, d.Image, DefaultImage))
	c.PullPolicy = first(c.PullPolicy, d.PullPolicy, PullIfNotPresent)
	c.RestartPolicy = first(c.RestartPolicy, d.RestartPolicy, DefaultRestartPolicy)
	c.BindAddress = first(c.BindAddress, d.BindAddress, DefaultBindAddress)
	c.HealthCheck = mergeHealth(c.HealthCheck, d.HealthCheck)

	env := make(map[string]string, len(d.Env)+len(c.Env))
	maps.Copy(env, d.Env)
	maps.Copy(env, c.Env)
	c.Env = env

	if c.OAuth == nil {
		c.OAuth = d.OAuth
	}
	c.OAuth = cloneOAuth(c.OAuth)
	if c.Resources == nil {
		c.Resources = d.Resources
	}
	if c.Resources != nil {
		r := *c.Resources
		c.Resources = &r
	}
}

// first returns the first non-empty value.
func first[T ~string](vals ...T) T {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func mergeHealth(c, d *HealthCheck) *HealthCheck {
	h := HealthCheck{Path: DefaultHealthPath, Timeout: Duration(DefaultHealthTimeout), Interval: Duration(DefaultHealthEvery)}
	for _, src := range []*HealthCheck{d, c} {
		if src == nil {
			continue
		}
		if src.Path != "" {
			h.Path = src.Path
		}
		if src.Timeout != 0 {
			h.Timeout = src.Timeout
		}
		if src.Interval != 0 {
			h.Interval = src.Interval
		}
	}
	return &h
}

func cloneOAuth(o *OAuth) *OAuth {
	if o == nil {
		return nil
	}
	out := *o
	if o.Google != nil {
		g := *o.Google
		out.Google = &g
	}
	out.AllowedDomains = append([]string(nil), o.AllowedDomains...)
	if o.EnableSignup != nil {
		b := *o.EnableSignup
		out.EnableSignup = &b
	}
	return &out
}

// Client returns the client called name, or nil.
func (s *Spec) Client(name string) *Client {
	for i := range s.Clients {
		if s.Clients[i].Name == name {
			return &s.Clients[i]
		}
	}
	return nil
}

// ContainerName is the name of c's container (defaults.naming.container,
// default openwebui-{client}).
func (s *Spec) ContainerName(c *Client) string {
	tmpl := DefaultContainerName
	if n := s.Defaults.Naming; n != nil && n.Container != "" {
		tmpl = n.Container
	}
	return expandName(tmpl, s.Fleet, c.Name)
}

// VolumeName is the name of c's data volume (defaults.naming.volume, default
// openwebui-{client}-data).
func (s *Spec) VolumeName(c *Client) string {
	if c.Volume != "" {
		return c.Volume
	}
	tmpl := DefaultVolumeName
	if n := s.Defaults.Naming; n != nil && n.Volume != "" {
		tmpl = n.Volume
	}
	return expandName(tmpl, s.Fleet, c.Name)
}

func expandName(tmpl, fleet, client string) string {
	// Two ReplaceAll calls: a strings.Replacer built per call costs more than
	// the whole rest of planning one client.
	return strings.ReplaceAll(strings.ReplaceAll(tmpl, "{fleet}", fleet), "{client}", client)
}

// MemoryBytes returns the memory limit in bytes (0 when unset). The unit
// suffixes are Docker's: b, k, m, g, powers of 1024, case-insensitive.
func (r *Resources) MemoryBytes() (int64, error) {
	if r == nil || r.Memory == "" {
		return 0, nil
	}
	s := strings.ToLower(r.Memory)
	shift := 0
	switch s[len(s)-1] {
	case 'b':
		s = s[:len(s)-1]
	case 'k':
		s, shift = s[:len(s)-1], 10
	case 'm':
		s, shift = s[:len(s)-1], 20
	case 'g':
		s, shift = s[:len(s)-1], 30
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, errors.New("must be a size such as 512m or 2g")
	}
	if n > (1<<62)>>shift {
		return 0, errors.New("memory limit is too large")
	}
	return n << shift, nil
}
