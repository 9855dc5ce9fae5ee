package legacy

import (
	"fmt"
	"strconv"
	"strings"
)

// render writes the YAML: what every client shares goes to defaults, the
// rest to each client, so the file reads like one written by hand.
func (g *gen) render() {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# Written by 'fleetctl import' from the containers of the old start-template.sh.\n")
	w("# Secret values are references: provide them (see the .env example beside this file).\n")
	w("# Adopt the containers in place (volumes and secret keys kept): fleetctl plan --adopt, then apply --adopt.\n")
	w("apiVersion: fleetctl/v1\nfleet: %s\nsecretKeySeed: ${file:./%s}\n", g.in.Fleet, SeedFile)
	if !g.in.SeedExists {
		g.res.Files[SeedFile] = g.in.NewSeed + "\n"
	}
	image := common(g.clients, func(c *client) string { return c.image })
	restart := common(g.clients, func(c *client) string { return c.restart })
	bind := common(g.clients, func(c *client) string { return c.bind })
	oauth := common(g.clients, func(c *client) string { return oauthKey(c.oauth) })
	if image != "" || restart != "" || bind != "" || oauth != "" {
		w("defaults:\n")
		if image != "" {
			w("  image: %s\n", q(image))
		}
		if restart != "" {
			w("  restartPolicy: %s\n", q(restart))
		}
		if bind != "" {
			w("  bindAddress: %s%s\n", q(bind), bindComment(bind))
		}
		if oauth != "" {
			g.oauth(&b, "  ", g.clients[0].oauth, "GOOGLE_CLIENT_SECRET", "the Google OAuth client secret")
		}
	}
	if len(g.clients) == 0 {
		w("clients: []\n")
	} else {
		w("clients:\n")
	}
	for _, c := range g.clients {
		w("  - name: %s\n    port: %d\n", c.name, c.port)
		if c.domain != "" {
			w("    domain: %s\n", c.domain)
		}
		w("    displayName: %s\n", q(c.display))
		if c.stopped {
			w("    state: stopped\n")
		}
		if image == "" {
			w("    image: %s\n", q(c.image))
		}
		if restart == "" {
			w("    restartPolicy: %s\n", q(c.restart))
		}
		if bind == "" {
			w("    bindAddress: %s%s\n", q(c.bind), bindComment(c.bind))
		}
		if oauth == "" && c.oauth != nil {
			g.oauth(&b, "    ", c.oauth, envName(c.name)+"_GOOGLE_CLIENT_SECRET", "the Google OAuth client secret of "+c.name)
		}
		if c.secretKey != "" {
			w("    secretKey: %s # copied out of the old container: sessions survive\n", q(c.secretKey))
		}
		if c.memory > 0 || c.cpus > 0 {
			w("    resources:\n")
			if c.memory > 0 {
				w("      memory: %s\n", q(strconv.FormatInt(c.memory, 10)))
			}
			if c.cpus > 0 {
				w("      cpus: %s\n", strconv.FormatFloat(float64(c.cpus)/1e9, 'f', -1, 64))
			}
		}
		if c.dbRef != "" {
			w("    database:\n      backend: postgres\n      url: %s\n", q(c.dbRef))
		}
		if len(c.env) > 0 {
			w("    env:\n")
			for _, k := range sortedKeys(c.env) {
				w("      %s: %s\n", k, q(c.env[k]))
			}
		}
	}
	g.res.YAML = []byte(b.String())
	var ex strings.Builder
	ex.WriteString("# Values fleet.yaml refers to with ${env:NAME}; set them in the environment of fleetctl\n# (for example in a file you keep out of git, loaded by systemd's EnvironmentFile=).\n")
	for _, k := range sortedKeys(g.needs) {
		g.res.Needed = append(g.res.Needed, Need{Env: k, What: g.needs[k]})
		fmt.Fprintf(&ex, "# %s\n%s=\n", g.needs[k], k)
	}
	g.res.Example = ex.String()
}

func (g *gen) oauth(b *strings.Builder, indent string, o *oauthCfg, secretEnv, what string) {
	fmt.Fprintf(b, "%soauth:\n%s  google:\n%s    clientID: %s\n%s    clientSecret: %s\n",
		indent, indent, indent, q(o.id), indent, q(g.need(secretEnv, what)))
	if o.domains != "" {
		var ds []string
		for _, d := range strings.Split(o.domains, ",") {
			if d = strings.TrimSpace(d); d != "" {
				ds = append(ds, q(d))
			}
		}
		fmt.Fprintf(b, "%s  allowedDomains: [%s]\n", indent, strings.Join(ds, ", "))
	}
	if v, err := strconv.ParseBool(o.signup); err == nil {
		fmt.Fprintf(b, "%s  enableSignup: %t\n", indent, v)
	}
}

// oauthKey identifies an OAuth configuration, secret value included: two
// clients share the defaults' block only when all of it is the same.
func oauthKey(o *oauthCfg) string {
	if o == nil {
		return ""
	}
	return strings.Join([]string{o.id, o.secret, o.domains, o.signup}, "\x00")
}

// common is the value every client has ("" when they differ or have none).
func common(cs []*client, f func(*client) string) string {
	if len(cs) == 0 {
		return ""
	}
	v := f(cs[0])
	for _, c := range cs[1:] {
		if f(c) != v {
			return ""
		}
	}
	return v
}

func bindComment(bind string) string {
	if bind == "0.0.0.0" {
		return " # as the old scripts published: every interface; 127.0.0.1 keeps the clients behind the proxy"
	}
	return ""
}
