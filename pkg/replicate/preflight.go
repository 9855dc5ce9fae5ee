package replicate

import (
	"context"
	"net"
	"net/url"
	"sort"
	"sync"
	"time"
)

// Reachability is the preflight of the target's host: its addresses per
// family and whether a TCP connection to the port succeeds on each.
// Supabase's direct hosts (db.REF.supabase.co) are IPv6-only; a machine
// without IPv6 must use the pooler. Nothing secret: host and port only.
type Reachability struct {
	Host          string   `json:"host"`
	Port          string   `json:"port"`
	IPv4          []string `json:"ipv4"`
	IPv6          []string `json:"ipv6"`
	IPv4Reachable bool     `json:"ipv4Reachable"`
	IPv6Reachable bool     `json:"ipv6Reachable"`
	// Error says why the host could not be resolved.
	Error string `json:"error,omitempty"`
	// Advice is set when the target cannot be reached over a family it needs.
	Advice string `json:"advice,omitempty"`
}

// PoolerAdvice is the advice when only IPv6 addresses exist and IPv6 does not work here.
const PoolerAdvice = "the target host has IPv6 addresses only and this machine cannot reach them over IPv6: " +
	"use the Supabase pooler (sync.target.supabase: {projectRef, region, password}; " +
	"aws-0-REGION.pooler.supabase.com answers over IPv4)"

// CheckReachability resolves the host of the target URL and dials its port
// once per family (each dial bounded by timeout). The URL's credentials are
// never part of the result.
func CheckReachability(ctx context.Context, rawURL string, timeout time.Duration) Reachability {
	var r Reachability
	u, err := url.Parse(rawURL)
	if err != nil || u.Hostname() == "" {
		r.Error = "the target URL has no host"
		return r
	}
	r.Host, r.Port = u.Hostname(), u.Port()
	if r.Port == "" {
		r.Port = "5432"
	}
	lctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupIPAddr(lctx, r.Host)
	if err != nil {
		r.Error = "resolve " + r.Host + ": " + errText(err)
		return r
	}
	for _, a := range addrs {
		if a.IP.To4() != nil {
			r.IPv4 = append(r.IPv4, a.IP.String())
		} else {
			r.IPv6 = append(r.IPv6, a.String())
		}
	}
	sort.Strings(r.IPv4)
	sort.Strings(r.IPv6)
	var wg sync.WaitGroup
	dial := func(ips []string, ok *bool) {
		defer wg.Done()
		for _, ip := range ips {
			d := net.Dialer{Timeout: timeout}
			if c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(ip, r.Port)); err == nil {
				c.Close()
				*ok = true
				return
			}
		}
	}
	wg.Add(2)
	go dial(r.IPv4, &r.IPv4Reachable)
	go dial(r.IPv6, &r.IPv6Reachable)
	wg.Wait()
	r.Advice = reachAdvice(r)
	return r
}

// reachAdvice is the pure rule: IPv6-only and IPv6 unreachable → the pooler.
func reachAdvice(r Reachability) string {
	switch {
	case len(r.IPv4) == 0 && len(r.IPv6) > 0 && !r.IPv6Reachable:
		return PoolerAdvice
	case !r.IPv4Reachable && !r.IPv6Reachable && len(r.IPv4)+len(r.IPv6) > 0:
		return "no address of the target host accepts connections on port " + r.Port + " from this machine"
	}
	return ""
}

func errText(err error) string {
	if dnsErr, ok := err.(*net.DNSError); ok {
		return dnsErr.Err
	}
	return err.Error()
}
