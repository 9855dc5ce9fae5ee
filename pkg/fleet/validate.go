package fleet

import (
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// managedEnv lists the variables fleetctl sets itself, with the field that
// controls each: setting one in env would silently fight that field.
var managedEnv = map[string]string{
	"WEBUI_NAME":            "displayName",
	"WEBUI_URL":             "domain",
	"WEBUI_SECRET_KEY":      "secretKey (or the fleet's secretKeySeed)",
	"GOOGLE_CLIENT_ID":      "oauth.google.clientID",
	"GOOGLE_CLIENT_SECRET":  "oauth.google.clientSecret",
	"GOOGLE_REDIRECT_URI":   "oauth and domain (https://DOMAIN/oauth/google/callback)",
	"OAUTH_ALLOWED_DOMAINS": "oauth.allowedDomains",
	"ENABLE_OAUTH_SIGNUP":   "oauth.enableSignup",
	"DATABASE_URL":          "database.url",
	"VECTOR_DB":             "database.vector",
	"PGVECTOR_DB_URL":       "database.vector",
	"PORT":                  "port (the container always listens on 8080)",
}

// Bounds the schema cannot express (durations are strings there).
const (
	minHealthTimeout  = time.Second
	maxHealthTimeout  = time.Hour
	minHealthInterval = 100 * time.Millisecond
	maxHealthInterval = 10 * time.Minute
	minMemory         = 6 << 20 // Docker refuses less
)

// dockerName is what the Docker engine accepts as a container or volume name.
var dockerName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`) })

// validator runs the semantic rules on a decoded spec. Fields the schema
// already rejected are skipped (collector.blocked), so a field gets at most
// one complaint and the rules may assume well-formed values.
type validator struct {
	c  *collector
	ix nodeIndex
}

func validate(c *collector, s *Spec, ix nodeIndex) {
	v := validator{c: c, ix: ix}
	d := &s.Defaults
	v.settings("defaults", &d.Settings)
	if d.Naming != nil {
		v.nameTemplate("defaults.naming.container", d.Naming.Container)
		v.nameTemplate("defaults.naming.volume", d.Naming.Volume)
	}
	v.proxy("proxy", s.Proxy)                // proxy.go
	v.backups("backups", s.Backups)          // backups.go
	v.sync("sync", s.Sync, s)                // sync.go
	v.monitoring("monitoring", s.Monitoring) // monitoring.go
	v.unique(s.Clients)
	v.monitoringShared(s)
	v.hosts(s) // hosts.go
	for i := range s.Clients {
		cl := &s.Clients[i]
		p := joinIndex("clients", i)
		v.settings(p, &cl.Settings)
		v.database(p+".database", cl.Database)
	}
}

// settings checks what defaults and clients share.
func (v validator) settings(path string, s *Settings) {
	v.env(path+".env", s.Env)
	v.bindAddress(path+".bindAddress", s.BindAddress)
	v.healthCheck(path+".healthCheck", s.HealthCheck)
	v.resources(path+".resources", s.Resources)
}

// errf reports a problem with the value at path, unless path is already reported.
func (v validator) errf(path, format string, args ...any) {
	v.errAt(v.ix.val(path), path, format, args...)
}

func (v validator) errAt(n *yaml.Node, path, format string, args ...any) {
	if v.c.blocked(path) {
		return
	}
	v.c.at(n, path, format, args...)
}

// set reports whether the field at path was written and passed the schema.
func (v validator) set(path string) bool {
	return v.ix.val(path) != nil && !v.c.blocked(path)
}

// unique checks that client names, ports and domains are not reused; the
// error points at the second use and names the first.
func (v validator) unique(clients []Client) {
	names := map[string]int{}
	ports := map[int]int{}
	domains := map[string]int{}
	volumes := map[string]int{}
	firstUse := func(field string, i int) string {
		p := joinIndex("clients", i)
		line := 0
		if n := v.ix.val(p + "." + field); n != nil {
			line = n.Line
		}
		if name := clients[i].Name; name != "" {
			return fmt.Sprintf("%s (%s, line %d)", p, name, line)
		}
		return fmt.Sprintf("%s (line %d)", p, line)
	}
	for i := range clients {
		cl := &clients[i]
		p := joinIndex("clients", i)
		if cl.Name != "" && v.set(p+".name") {
			if j, dup := names[cl.Name]; dup {
				v.errf(p+".name", "duplicate client name %s, already used by %s", quote(cl.Name), firstUse("name", j))
			} else {
				names[cl.Name] = i
			}
		}
		if cl.Port != 0 && v.set(p+".port") {
			if j, dup := ports[cl.Port]; dup {
				v.errf(p+".port", "port %d is already used by %s", cl.Port, firstUse("port", j))
			} else {
				ports[cl.Port] = i
			}
		}
		if cl.Domain != "" && v.set(p+".domain") {
			if j, dup := domains[cl.Domain]; dup {
				v.errf(p+".domain", "domain %s is already used by %s", quote(cl.Domain), firstUse("domain", j))
			} else {
				domains[cl.Domain] = i
			}
		}
		if cl.Volume != "" && v.set(p+".volume") {
			if j, dup := volumes[cl.Volume]; dup {
				v.errf(p+".volume", "volume %s is already used by %s", quote(cl.Volume), firstUse("volume", j))
			} else {
				volumes[cl.Volume] = i
			}
		}
	}
}

// env rejects variables that fleetctl sets from a field of its own.
func (v validator) env(path string, env map[string]string) {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		kp := joinKey(path, k)
		if val := env[k]; strings.Contains(val, "${") && !SecretRef(val).IsRef() {
			// A value is either a literal or one whole secret reference; a
			// half-written one must not reach the container as text.
			v.errf(kp, "looks like a secret reference but is not one: use exactly ${env:NAME} or ${file:PATH}")
		}
		field, managed := managedEnv[k]
		if !managed {
			if up := strings.ToUpper(k); managedEnv[up] != "" && !v.c.blocked(kp) {
				// Environment names are case-sensitive: the container gets
				// both, and Open WebUI reads only the upper-case one.
				v.c.warn(v.ix.key(kp), kp, "%s differs only by case from %s, which fleetctl sets from %s; "+
					"the container gets both and Open WebUI reads %s", k, up, managedEnv[up], up)
			}
			continue
		}
		v.errAt(v.ix.key(kp), kp, "%s is set by fleetctl from %s; remove it from env", k, field)
	}
}

func (v validator) bindAddress(path, addr string) {
	if addr == "" || !v.set(path) {
		return
	}
	if a, err := netip.ParseAddr(addr); err != nil || a.Zone() != "" {
		v.errf(path, "must be an IPv4 or IPv6 address such as 127.0.0.1 or ::1 (without a zone)")
	}
}

func (v validator) healthCheck(path string, h *HealthCheck) {
	if h == nil {
		return
	}
	tp, ip := path+".timeout", path+".interval"
	timeoutOK := v.set(tp)
	if timeoutOK && (h.Timeout.Std() < minHealthTimeout || h.Timeout.Std() > maxHealthTimeout) {
		v.errf(tp, "must be between %s and %s", shortDuration(minHealthTimeout), shortDuration(maxHealthTimeout))
		timeoutOK = false
	}
	if !v.set(ip) {
		return
	}
	switch iv := h.Interval.Std(); {
	case iv < minHealthInterval || iv > maxHealthInterval:
		v.errf(ip, "must be between %s and %s", shortDuration(minHealthInterval), shortDuration(maxHealthInterval))
	case timeoutOK && iv > h.Timeout.Std():
		v.errf(ip, "must not be longer than timeout (%s)", shortDuration(h.Timeout.Std()))
	}
}

func (v validator) resources(path string, r *Resources) {
	mp := path + ".memory"
	if r == nil || r.Memory == "" || !v.set(mp) {
		return
	}
	switch b, err := r.MemoryBytes(); {
	case err != nil:
		v.errf(mp, "%v", err)
	case b < minMemory:
		v.errf(mp, "must be at least 6m (Docker's minimum)")
	}
}

// nameTemplate checks that every client gets its own valid Docker name.
func (v validator) nameTemplate(path, tmpl string) {
	if tmpl == "" || !v.set(path) {
		return
	}
	if !strings.Contains(tmpl, "{client}") {
		v.errf(path, "must contain {client}, so every client gets its own name")
		return
	}
	// Fleet and client names are DNS labels, so one letter stands for any of them.
	if !dockerName().MatchString(expandName(tmpl, "a", "a")) {
		v.errf(path, "must expand to a Docker name ([a-zA-Z0-9][a-zA-Z0-9_.-]*); the only placeholders are {fleet} and {client}")
	}
}

func (v validator) database(path string, d *Database) {
	if d == nil {
		return
	}
	if v.ix.val(path+".backend") != nil && !v.set(path+".backend") {
		return // an invalid backend is already reported
	}
	backend := d.Backend
	if backend == "" {
		backend = BackendSQLite
	}
	switch {
	case backend == BackendPostgres && d.URL.IsZero() && v.ix.val(path+".url") == nil && v.ix.val(path+".supabase") == nil:
		v.errAt(v.ix.val(path), path+".url", "backend postgres requires url, a secret reference such as ${env:CLIENT_DATABASE_URL}, or a supabase block")
	case backend == BackendSQLite && v.ix.val(path+".url") != nil:
		v.errf(path+".url", "url is only used with backend: postgres (this client's backend is sqlite)")
	}
	v.databaseExtras(path, backend) // database.go
}
