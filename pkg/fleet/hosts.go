package fleet

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Host is one Docker engine of the fleet. fleetctl drives existing engines;
// it does not schedule or cluster them.
type Host struct {
	Name string `yaml:"name" json:"name"`
	// Endpoint is unix:///path, tcp://host:port or ssh://[user@]host[:port].
	Endpoint string `yaml:"endpoint" json:"endpoint"`
	// TLS holds the client certificate of a tcp:// endpoint.
	TLS *HostTLS `yaml:"tls,omitempty" json:"tls,omitempty"`
	// Address is the IP address on which the proxy (on another host)
	// reaches the ports this host publishes: its clients with a domain are
	// published there instead of on loopback.
	Address string `yaml:"address,omitempty" json:"address,omitempty"`
	// Labels describe the host (region, size); informational.
	Labels   map[string]string `yaml:"labels,omitempty" json:"labels,omitempty"`
	Capacity *Capacity         `yaml:"capacity,omitempty" json:"capacity,omitempty"`
}

// HostTLS are the PEM files of a TLS client connection, as secret references.
type HostTLS struct {
	CA   SecretRef `yaml:"ca" json:"ca"`
	Cert SecretRef `yaml:"cert" json:"cert"`
	Key  SecretRef `yaml:"key" json:"key"`
}

// Capacity bounds what placement puts on a host (pinned clients count too).
type Capacity struct {
	// MaxClients is the most clients the host runs (0: no limit).
	MaxClients int `yaml:"maxClients,omitempty" json:"maxClients,omitempty"`
	// Memory is the sum of the clients' resources.memory the host takes,
	// e.g. "16g"; clients without a memory limit count as 0.
	Memory string `yaml:"memory,omitempty" json:"memory,omitempty"`
}

// MemoryBytes is Memory in bytes (0 when unset or invalid: validation has
// already reported an invalid one).
func (c *Capacity) MemoryBytes() int64 {
	if c == nil {
		return 0
	}
	b, err := (&Resources{Memory: c.Memory}).MemoryBytes()
	if err != nil {
		return 0
	}
	return b
}

// Host returns the host called name, or nil.
func (s *Spec) Host(name string) *Host {
	for i := range s.Hosts {
		if s.Hosts[i].Name == name {
			return &s.Hosts[i]
		}
	}
	return nil
}

// LockHostName is the host holding the fleet's lock ("" without hosts).
func (s *Spec) LockHostName() string {
	if s.LockHost != "" {
		return s.LockHost
	}
	if len(s.Hosts) > 0 {
		return s.Hosts[0].Name
	}
	return ""
}

// ProxyHostName is the host nginx runs on ("" without hosts or proxy):
// proxy.host, default the lock host.
func (s *Spec) ProxyHostName() string {
	if s.Proxy == nil || len(s.Hosts) == 0 {
		return ""
	}
	if s.Proxy.Host != "" {
		return s.Proxy.Host
	}
	return s.LockHostName()
}

// hosts checks what the schema cannot: unique names, endpoints that parse
// and suit their TLS settings, pins and lockHost naming a host, capacities
// the pinned clients fit.
func (v validator) hosts(s *Spec) {
	names := map[string]int{}
	endpoints := map[string]int{}
	for i := range s.Hosts {
		h := &s.Hosts[i]
		p := joinIndex("hosts", i)
		if h.Name != "" && v.set(p+".name") {
			if j, dup := names[h.Name]; dup {
				v.errf(p+".name", "duplicate host name %s, already used by hosts[%d]", quote(h.Name), j)
			} else {
				names[h.Name] = i
			}
		}
		if h.Endpoint != "" && v.set(p+".endpoint") {
			if err := checkEndpoint(h.Endpoint); err != nil {
				v.errf(p+".endpoint", "%v", err)
			} else if j, dup := endpoints[h.Endpoint]; dup {
				v.errf(p+".endpoint", "endpoint is already used by hosts[%d] (%s)", j, s.Hosts[j].Name)
			} else {
				endpoints[h.Endpoint] = i
			}
			if h.TLS != nil && !strings.HasPrefix(h.Endpoint, "tcp://") {
				v.errf(p+".tls", "tls is only used with a tcp:// endpoint")
			}
		}
		if h.Capacity != nil {
			v.resources(p+".capacity", &Resources{Memory: h.Capacity.Memory})
		}
	}
	if s.LockHost != "" && v.set("lockHost") && s.Host(s.LockHost) == nil {
		v.errf("lockHost", "%s", unknownHost(s.LockHost, s.Hosts))
	}
	v.proxyHosts(s)
	pinned := map[string]int{}
	for i := range s.Clients {
		c := &s.Clients[i]
		p := joinIndex("clients", i) + ".host"
		if c.Host == "" || !v.set(p) {
			continue
		}
		if s.Host(c.Host) == nil {
			v.errf(p, "%s", unknownHost(c.Host, s.Hosts))
			continue
		}
		pinned[c.Host]++
	}
	for i := range s.Hosts {
		h := &s.Hosts[i]
		p := joinIndex("hosts", i) + ".capacity.maxClients"
		if h.Capacity != nil && h.Capacity.MaxClients > 0 && pinned[h.Name] > h.Capacity.MaxClients && v.set(p) {
			v.errf(p, "%d clients are pinned to host %s, more than maxClients (%d)", pinned[h.Name], h.Name, h.Capacity.MaxClients)
		}
	}
}

func unknownHost(name string, hosts []Host) string {
	if len(hosts) == 0 {
		return fmt.Sprintf("no host %s: this file has no hosts section", quote(name))
	}
	known := make([]string, len(hosts))
	for i := range hosts {
		known[i] = hosts[i].Name
	}
	return fmt.Sprintf("no host %s in hosts (%s)", quote(name), strings.Join(known, ", "))
}

// checkEndpoint accepts the endpoint forms fleetctl can connect to.
func checkEndpoint(ep string) error {
	u, err := url.Parse(ep)
	if err != nil {
		return fmt.Errorf("must be unix:///PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT]")
	}
	switch u.Scheme {
	case "unix":
		if u.Host != "" || !strings.HasPrefix(u.Path, "/") || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("a unix endpoint must be unix:///ABSOLUTE/PATH (three slashes)")
		}
	case "tcp":
		host, port, err := net.SplitHostPort(u.Host)
		if err != nil || host == "" || u.User != nil || (u.Path != "" && u.Path != "/") {
			return fmt.Errorf("a tcp endpoint must be tcp://HOST:PORT")
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("a tcp endpoint's port must be 1 to 65535")
		}
	case "ssh":
		if u.Hostname() == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return fmt.Errorf("an ssh endpoint must be ssh://[USER@]HOST[:PORT]")
		}
		if _, hasPw := u.User.Password(); hasPw {
			return fmt.Errorf("an ssh endpoint must not hold a password: use an ssh key or agent")
		}
		if p := u.Port(); p != "" {
			if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
				return fmt.Errorf("an ssh endpoint's port must be 1 to 65535")
			}
		}
	default:
		return fmt.Errorf("must be unix:///PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT]")
	}
	return nil
}

// hostRefs adds the hosts' TLS files to the references Resolve reads.
func (s *Spec) hostRefs(add func(SecretRef, bool)) {
	for i := range s.Hosts {
		if t := s.Hosts[i].TLS; t != nil {
			add(t.CA, false)
			add(t.Cert, false)
			add(t.Key, false)
		}
	}
}

// proxyHosts checks a proxy in a fleet with hosts: it runs on a host of
// the fleet, and every other host says where the proxy reaches it.
func (v validator) proxyHosts(s *Spec) {
	for i := range s.Hosts {
		v.bindAddress(joinIndex("hosts", i)+".address", s.Hosts[i].Address)
	}
	if s.Proxy == nil {
		return
	}
	if len(s.Hosts) == 0 {
		if s.Proxy.Host != "" && v.set("proxy.host") {
			v.errf("proxy.host", "%s", unknownHost(s.Proxy.Host, s.Hosts))
		}
		return
	}
	if s.Proxy.Host != "" && v.set("proxy.host") && s.Host(s.Proxy.Host) == nil {
		v.errf("proxy.host", "%s", unknownHost(s.Proxy.Host, s.Hosts))
		return
	}
	if s.Proxy.UpstreamHost != "" && v.set("proxy.upstreamHost") {
		v.errf("proxy.upstreamHost", "is not used with hosts: the proxy reaches each client on its host's address (hosts[].address)")
	}
	front := s.ProxyHostName()
	for i := range s.Hosts {
		h := &s.Hosts[i]
		if h.Name != front && h.Address == "" && v.set(joinIndex("hosts", i)+".name") {
			v.errAt(v.ix.val(joinIndex("hosts", i)), joinIndex("hosts", i)+".address",
				"required: the proxy runs on host %s and reaches this host's clients on this address", front)
		}
	}
}
