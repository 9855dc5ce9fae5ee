package legacy

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/observe"
)

// What the old scripts wrote.
const (
	// ContainerPrefix starts the name of every container the old scripts ran.
	ContainerPrefix = "openwebui-"
	// SecretKeyFile is where Open WebUI writes the key it generates when
	// WEBUI_SECRET_KEY is unset: outside the data volume.
	SecretKeyFile = "/app/backend/.webui_secret_key"
)

// Input is what the adapter found.
type Input struct {
	Fleet      string
	Containers []observe.ContainerDetail
	// Keys holds the content of each container's SecretKeyFile, by container
	// name (absent: the file was not there).
	Keys map[string]string
	// SeedExists: the secretKeySeed file is already there (it is not rewritten).
	SeedExists bool
	// NewSeed is the random seed to write when there is none.
	NewSeed string
}

// Result is the files to write beside the YAML and what to tell the operator.
type Result struct {
	YAML []byte
	// Files maps paths relative to the YAML to their content (mode 0600:
	// key files and the seed hold secrets).
	Files map[string]string
	// Needed lists the ${env:} references the operator must provide.
	Needed []Need
	// Example is the content of the env example file (names, no values).
	Example string
	// Clients are the names imported; Skipped says which containers were
	// not, and why; Notes what differs from the old container.
	Clients []string
	Skipped []string
	Notes   []string
}

// Need is one value the operator provides.
type Need struct {
	Env  string `json:"env"`
	What string `json:"what"`
}

// SeedFile is the secretKeySeed the imported file refers to.
const SeedFile = "fleet.seed"

// Patterns compiled on first use: every fleetctl start-up links this package.
var (
	dnsLabel   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`) })
	secretName = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?i)(SECRET|PASSWORD|PASSWD|TOKEN|API_?KEY|PRIVATE|CREDENTIAL|_KEY$)`)
	})
	urlPassword = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`://[^/\s:@]*:[^@\s]+@`) })
)

// Generate writes the fleet.yaml that adopts the containers.
func Generate(in Input) *Result {
	g := &gen{in: in, res: &Result{Files: map[string]string{}}, needs: map[string]string{}}
	for i := range in.Containers {
		g.container(&in.Containers[i])
	}
	g.render()
	return g.res
}

type client struct {
	name, image, restart, bind, domain, display string
	port                                        int
	stopped                                     bool
	oauth                                       *oauthCfg
	dbRef                                       string
	secretKey                                   string // ${file:} reference
	env                                         map[string]string
	memory                                      int64
	cpus                                        int64
}

type oauthCfg struct {
	id, secret, domains, signup string
	secretRef                   string
}

type gen struct {
	in      Input
	res     *Result
	clients []*client
	needs   map[string]string // env name -> what
}

func (g *gen) skip(name, format string, args ...any) {
	g.res.Skipped = append(g.res.Skipped, name+": "+fmt.Sprintf(format, args...))
}

func (g *gen) need(env, what string) string {
	g.needs[env] = what
	return "${env:" + env + "}"
}

func (g *gen) container(d *observe.ContainerDetail) {
	name := strings.TrimPrefix(d.Name, ContainerPrefix)
	switch {
	case d.Labels[observe.LabelManagedBy] != "":
		g.skip(d.Name, "already managed by fleetctl")
		return
	case !dnsLabel().MatchString(name):
		g.skip(d.Name, "%q is not a valid client name (a DNS label)", name)
		return
	}
	c := &client{name: name, image: fleet.NormalizeImage(d.Image), restart: d.RestartPolicy, env: map[string]string{},
		stopped: d.State != "running" && d.State != "restarting", memory: d.MemoryBytes, cpus: d.NanoCPUs}
	if c.restart == "" {
		c.restart = "no"
	}
	bs := d.Ports[strconv.Itoa(fleet.ContainerPort)+"/tcp"]
	if len(bs) == 0 {
		g.skip(d.Name, "publishes no host port for %d", fleet.ContainerPort)
		return
	}
	c.port, c.bind = bs[0].HostPort, bs[0].HostIP
	if c.bind == "" || c.bind == "::" {
		c.bind = "0.0.0.0"
	}
	vol := ""
	for _, m := range d.Mounts {
		if m.Destination == fleet.DataDir {
			if m.Type != "volume" {
				g.skip(d.Name, "%s is a %s mount, not a named volume", fleet.DataDir, m.Type)
				return
			}
			vol = m.Name
		}
	}
	if want := ContainerPrefix + name + "-data"; vol != want {
		g.skip(d.Name, "data volume is %q, not %s", vol, want)
		return
	}
	env := map[string]string{}
	for _, kv := range d.Env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	if !g.managedEnv(d, c, env) {
		return
	}
	g.res.Clients = append(g.res.Clients, name)
	g.clients = append(g.clients, c)
}

// managedEnv maps the variables fleetctl sets itself onto fleet.yaml fields;
// every other variable is kept in env (secrets as references).
func (g *gen) managedEnv(d *observe.ContainerDetail, c *client, env map[string]string) bool {
	up := envName(c.name)
	c.display = env["WEBUI_NAME"]
	if strings.ContainsAny(c.display, "`\"';{}\\$<>") {
		g.skip(d.Name, "WEBUI_NAME holds characters fleet.yaml refuses in displayName; rename it first")
		return false
	}
	if c.display == "" {
		c.display = c.name
		g.note(c.name, "had no WEBUI_NAME; fleetctl sets it to the client name")
	}
	for _, k := range []string{"GOOGLE_REDIRECT_URI", "WEBUI_URL"} {
		if u, err := url.Parse(env[k]); err == nil && u.Hostname() != "" && c.domain == "" && !isLocal(u.Hostname()) {
			c.domain = u.Hostname()
		}
	}
	if id := env["GOOGLE_CLIENT_ID"]; id != "" {
		if env["GOOGLE_CLIENT_SECRET"] == "" {
			g.note(c.name, "has GOOGLE_CLIENT_ID without GOOGLE_CLIENT_SECRET; Google sign-in is left out")
		} else {
			c.oauth = &oauthCfg{id: id, secret: env["GOOGLE_CLIENT_SECRET"], domains: env["OAUTH_ALLOWED_DOMAINS"], signup: env["ENABLE_OAUTH_SIGNUP"]}
		}
	}
	if want := "https://" + c.domain + "/oauth/google/callback"; c.oauth != nil && env["GOOGLE_REDIRECT_URI"] != want {
		g.note(c.name, "GOOGLE_REDIRECT_URI was "+strconv.Quote(env["GOOGLE_REDIRECT_URI"])+"; fleetctl sets "+strconv.Quote(want))
	}
	switch db := env["DATABASE_URL"]; {
	case strings.HasPrefix(db, "postgres"):
		c.dbRef = g.need(up+"_DATABASE_URL", "DATABASE_URL of "+d.Name)
	case db == "", db == "sqlite:///"+fleet.DataDir+"/webui.db", db == "sqlite://"+fleet.DataDir+"/webui.db":
		// SQLite where fleetctl runs it: the same file without the variable.
	default:
		g.skip(d.Name, "DATABASE_URL %q is neither PostgreSQL nor the SQLite file in %s; move the data first", redactURL(db), fleet.DataDir)
		return false
	}
	switch {
	case env["WEBUI_SECRET_KEY"] != "":
		c.secretKey = g.keyFile(c.name, env["WEBUI_SECRET_KEY"])
	case g.in.Keys[d.Name] != "":
		c.secretKey = g.keyFile(c.name, g.in.Keys[d.Name])
	default:
		g.note(c.name, "had no secret key to keep ("+SecretKeyFile+" missing): its users sign in again once")
	}
	for k, v := range env {
		if isManaged(k) {
			continue
		}
		if sensitive(k, v) {
			c.env[k] = g.need(up+"_"+k, k+" of "+d.Name)
			continue
		}
		c.env[k] = v
	}
	return true
}

func (g *gen) keyFile(client, key string) string {
	p := "secrets/" + client + ".webui_secret_key"
	g.res.Files[p] = strings.TrimRight(key, "\r\n") + "\n"
	return "${file:./" + p + "}"
}

func (g *gen) note(client, msg string) { g.res.Notes = append(g.res.Notes, client+": "+msg) }

func isLocal(host string) bool {
	return host == "localhost" || strings.HasPrefix(host, "127.") || host == "::1" || host == "0.0.0.0"
}

// isManaged: variables fleetctl derives from fleet.yaml fields (PORT: the
// container always listens on 8080).
func isManaged(k string) bool {
	switch k {
	case "WEBUI_NAME", "WEBUI_URL", "WEBUI_SECRET_KEY", "GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET",
		"GOOGLE_REDIRECT_URI", "OAUTH_ALLOWED_DOMAINS", "ENABLE_OAUTH_SIGNUP", "DATABASE_URL",
		"VECTOR_DB", "PGVECTOR_DB_URL", "PORT":
		return true
	}
	return false
}

// sensitive says whether an extra variable is treated as a secret: by its
// name, or a URL with a password in its value.
func sensitive(k, v string) bool {
	return v != "" && (secretName().MatchString(k) || urlPassword().MatchString(v))
}

// envName is the client name as an environment variable prefix.
func envName(client string) string {
	return strings.ToUpper(strings.ReplaceAll(client, "-", "_"))
}

// q quotes a YAML scalar (a JSON string is a valid YAML double-quoted one).
func q(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// redactURL drops a URL's password for a note.
func redactURL(s string) string {
	return urlPassword().ReplaceAllString(s, "://****@")
}
