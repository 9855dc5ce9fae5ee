package plan

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/observe"
	"github.com/quantabase/fleetctl/pkg/resource"
)

// Label keys only the planner reads and writes.
const (
	// LabelConfig holds the normalized, non-secret inputs of a container
	// (ContainerConfig as JSON), so the next plan can say which field changed.
	LabelConfig = "io.fleetctl.config"
	// hashVersion changes only when the meaning of the normalized inputs
	// changes; bumping it recreates every container, so do it rarely.
	hashVersion = "v1"
)

// ContainerConfig is the normalized set of inputs that decide whether a
// container must be recreated. Sensitive env values appear only as keyed
// digests (HMAC with the client's secret key), never in clear.
type ContainerConfig struct {
	Image       string            `json:"image"`
	BindAddress string            `json:"bind"`
	HostPort    int               `json:"port"`
	Volume      string            `json:"volume"`
	Restart     string            `json:"restart"`
	MemoryBytes int64             `json:"memory,omitempty"`
	NanoCPUs    int64             `json:"cpus,omitempty"`
	Env         map[string]string `json:"env"`
	// Sensitive lists the env names whose values are digests.
	Sensitive []string `json:"sensitive,omitempty"`
}

// Desired is everything fleetctl wants for one client.
type Desired struct {
	Client    *fleet.Client
	Volume    resource.Volume
	Container resource.Container
	Config    ContainerConfig
	Hash      string
	key       string // the client's secret key: digests of sensitive values
}

// renderClient computes the desired objects for one client. secrets holds the
// resolved values of every reference the spec uses.
func renderClient(s *fleet.Spec, c *fleet.Client, secrets fleet.Secrets) Desired {
	key := clientSecretKey(s, c, secrets)
	env := clientEnv(s, c, secrets, key)
	resource.SortEnv(env)

	base := map[string]string{
		observe.LabelManagedBy: observe.ManagedByValue,
		observe.LabelFleet:     s.Fleet,
		observe.LabelClient:    c.Name,
	}
	vol := resource.Volume{Name: s.VolumeName(c), Labels: copyLabels(base)}

	ctr := resource.Container{
		Name:          s.ContainerName(c),
		Image:         c.Image,
		Env:           env,
		Volume:        vol.Name,
		MountPath:     fleet.DataDir,
		BindAddress:   c.BindAddress,
		HostPort:      c.Port,
		ContainerPort: fleet.ContainerPort,
		RestartPolicy: c.RestartPolicy,
	}
	if c.Resources != nil {
		ctr.MemoryBytes, _ = c.Resources.MemoryBytes() // validated by pkg/fleet
		ctr.NanoCPUs = int64(math.Round(c.Resources.CPUs * 1e9))
	}
	if hc := c.HealthCheck; hc != nil {
		ctr.Health = resource.Health{Path: hc.Path, Timeout: hc.Timeout.Std(), Interval: hc.Interval.Std()}
	}

	cfg := ContainerConfig{
		Image: ctr.Image, BindAddress: ctr.BindAddress, HostPort: ctr.HostPort,
		Volume: ctr.Volume, Restart: ctr.RestartPolicy,
		MemoryBytes: ctr.MemoryBytes, NanoCPUs: ctr.NanoCPUs,
		Env: make(map[string]string, len(env)),
	}
	for _, e := range env {
		if e.Sensitive {
			cfg.Env[e.Name] = "hmac:" + keyedDigest(key, e.Name+"="+e.Value)
			cfg.Sensitive = append(cfg.Sensitive, e.Name)
		} else {
			cfg.Env[e.Name] = e.Value
		}
	}
	raw, _ := json.Marshal(cfg) // maps marshal with sorted keys: deterministic
	hash := hashVersion + "-" + keyedDigest(key, string(raw))[:24]

	ctr.Labels = copyLabels(base)
	ctr.Labels[observe.LabelConfigHash] = hash
	ctr.Labels[LabelConfig] = string(raw)
	return Desired{Client: c, Volume: vol, Container: ctr, Config: cfg, Hash: hash, key: key}
}

// clientSecretKey is the client's stable WEBUI_SECRET_KEY: its own reference
// when set, else derived from the fleet seed, so it survives every recreate
// without a state file and differs per client.
func clientSecretKey(s *fleet.Spec, c *fleet.Client, secrets fleet.Secrets) string {
	if !c.SecretKey.IsZero() {
		return secrets.Value(c.SecretKey)
	}
	return keyedDigest(secrets.Value(s.SecretKeySeed), "webui-secret-key:"+s.Fleet+"/"+c.Name)
}

func clientEnv(s *fleet.Spec, c *fleet.Client, secrets fleet.Secrets, key string) []resource.EnvVar {
	var env []resource.EnvVar
	add := func(name, value string, sensitive bool) {
		env = append(env, resource.EnvVar{Name: name, Value: value, Sensitive: sensitive})
	}
	for k, v := range c.Env {
		if ref := fleet.SecretRef(v); ref.IsRef() {
			add(k, secrets.Value(ref), true) // a secret reference: resolved, masked everywhere
			continue
		}
		add(k, v, false)
	}
	name := c.DisplayName
	if name == "" {
		name = c.Name
	}
	add("WEBUI_NAME", name, false)
	url := WebUIURL(s, c)
	add("WEBUI_URL", url, false)
	add("WEBUI_SECRET_KEY", key, true)
	if o := c.OAuth; o != nil && o.Google != nil {
		add("GOOGLE_CLIENT_ID", o.Google.ClientID, false)
		add("GOOGLE_CLIENT_SECRET", secrets.Value(o.Google.ClientSecret), true)
		add("GOOGLE_REDIRECT_URI", url+"/oauth/google/callback", false)
		signup := o.EnableSignup == nil || *o.EnableSignup
		add("ENABLE_OAUTH_SIGNUP", strconv.FormatBool(signup), false)
		if len(o.AllowedDomains) > 0 {
			add("OAUTH_ALLOWED_DOMAINS", strings.Join(o.AllowedDomains, ","), false)
		}
	}
	if db := c.Database; db != nil && db.Backend == fleet.BackendPostgres {
		dbURL := db.ConnURL(secrets) // url reference or Supabase pooler URL
		add("DATABASE_URL", dbURL, true)
		if db.Vector == fleet.VectorPGVector {
			add("VECTOR_DB", fleet.VectorPGVector, false)
			add("PGVECTOR_DB_URL", dbURL, true)
		}
	}
	return env
}

// WebUIURL is the client's public URL (WEBUI_URL, and the base of
// GOOGLE_REDIRECT_URI): its domain over https, or http when the proxy has
// tls: none; its published local address when it has no domain.
func WebUIURL(s *fleet.Spec, c *fleet.Client) string {
	return s.PublicURL(c)
}

func keyedDigest(key, msg string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

func copyLabels(l map[string]string) map[string]string {
	out := make(map[string]string, len(l)+2)
	for k, v := range l {
		out[k] = v
	}
	return out
}

// parseConfig reads the LabelConfig of an observed container (nil if absent
// or unreadable: such a container is recreated with the cause "unknown config").
func parseConfig(labels map[string]string) *ContainerConfig {
	raw, ok := labels[LabelConfig]
	if !ok {
		return nil
	}
	var c ContainerConfig
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		return nil
	}
	return &c
}

// diffConfig names every field that differs, in a stable order. Values of
// sensitive env vars are never shown, only that they changed.
func diffConfig(before, after *ContainerConfig) []Change {
	var out []Change
	field := func(name, b, a string) {
		if b != a {
			out = append(out, Change{Field: name, Before: b, After: a})
		}
	}
	field("image", before.Image, after.Image)
	field("port", before.BindAddress+":"+strconv.Itoa(before.HostPort), after.BindAddress+":"+strconv.Itoa(after.HostPort))
	field("volume", before.Volume, after.Volume)
	field("restartPolicy", before.Restart, after.Restart)
	field("resources.memory", strconv.FormatInt(before.MemoryBytes, 10), strconv.FormatInt(after.MemoryBytes, 10))
	field("resources.cpus", strconv.FormatInt(before.NanoCPUs, 10), strconv.FormatInt(after.NanoCPUs, 10))
	sorted := envKeys(before.Env, after.Env)
	sens := map[string]bool{}
	for _, k := range append(append([]string(nil), before.Sensitive...), after.Sensitive...) {
		sens[k] = true
	}
	for _, k := range sorted {
		b, inB := before.Env[k]
		a, inA := after.Env[k]
		if inB && inA && a == b {
			continue
		}
		ch := Change{Field: "env." + k, Before: b, After: a, Sensitive: sens[k], Added: !inB, Removed: !inA}
		if ch.Sensitive {
			ch.Before, ch.After = "", ""
		}
		out = append(out, ch)
	}
	return out
}
