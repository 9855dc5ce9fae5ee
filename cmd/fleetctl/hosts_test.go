package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quantabase/fleetctl/pkg/docker"
	"github.com/quantabase/fleetctl/pkg/docker/dockertest"
)

// Integration tests of a fleet with several hosts: each host is an extra
// dockerd of its own on this machine (pkg/docker/dockertest), loaded with
// the stand-in image from the system engine by docker save | docker load.

// startHosts starts n engines h1..hn with the stand-in image in each.
func startHosts(t *testing.T, n int) []*dockertest.Daemon {
	t.Helper()
	requireDocker(t)
	ctx := context.Background()
	sys, err := docker.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	var ds []*dockertest.Daemon
	for i := 1; i <= n; i++ {
		d := dockertest.Start(t, fmt.Sprintf("h%d", i))
		cli, err := docker.Dial(ctx, docker.Endpoint{Host: d.Host})
		if err != nil {
			t.Fatal(err)
		}
		err = sys.CopyImageTo(ctx, standinImage, cli)
		cli.Close()
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	return ds
}

// writeHosts appends a hosts section naming the daemons h1..hn.
func (f *testFleet) writeHosts(ds []*dockertest.Daemon, extra string) {
	f.t.Helper()
	b, err := os.ReadFile(f.file)
	if err != nil {
		f.t.Fatal(err)
	}
	s := string(b) + extra + "hosts:\n"
	for _, d := range ds {
		s += fmt.Sprintf("  - name: %s\n    endpoint: %s\n", d.Name, d.Host)
	}
	if err := os.WriteFile(f.file, []byte(s), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// onHost runs the docker CLI against one test engine.
func onHost(t *testing.T, d *dockertest.Daemon, args ...string) string {
	t.Helper()
	out, _ := exec.Command("docker", append([]string{"-H", d.Host}, args...)...).CombinedOutput()
	return strings.TrimSpace(string(out))
}

// hostClients maps each client of the fleet on d to its container state and
// io.fleetctl.host label ("running h1").
func hostClients(t *testing.T, d *dockertest.Daemon, fleetName string) map[string]string {
	t.Helper()
	out := onHost(t, d, "ps", "-a", "--filter", "label=io.fleetctl.fleet="+fleetName, "--filter", "label=io.fleetctl.client",
		"--format", `{{.Label "io.fleetctl.client"}} {{.State}} {{.Label "io.fleetctl.host"}}`)
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) == 3 {
			m[f[0]] = f[1] + " " + f[2]
		}
	}
	return m
}

func TestHostsPlacementPinAndLock(t *testing.T) {
	ds := startHosts(t, 2)
	f := newTestFleet(t, 3)
	cs := f.clients()
	cs[0].extra = "    host: h2\n"
	f.write(cs, "")
	f.writeHosts(ds, "")

	r := f.mustApply()
	for _, want := range []string{"Host h1: reachable, 2 clients", "Host h2: reachable, 1 client"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("apply's plan lacks %q:\n%s", want, r.stdout)
		}
	}
	// c0 pinned to h2; c1 to the emptier h1; c2 ties (1:1) and h1 comes first by name.
	if got := hostClients(t, ds[0], f.name); len(got) != 2 || got["c1"] != "running h1" || got["c2"] != "running h1" {
		t.Errorf("h1 holds %v, want c1 and c2 running, labelled h1", got)
	}
	if got := hostClients(t, ds[1], f.name); len(got) != 1 || got["c0"] != "running h2" {
		t.Errorf("h2 holds %v, want c0 running, labelled h2", got)
	}
	if left := f.containers(); len(left) != 0 {
		t.Errorf("the system engine got containers of the fleet: %v", left)
	}
	for i, c := range cs {
		if name := appName(t, c.port); name != uiName(c.display) {
			t.Errorf("client %d answers %q", i, name)
		}
	}
	// The placement is read back from the hosts: nothing to do, nothing moves.
	if r := f.run("plan", "--detailed-exitcode"); r.code != 0 || !strings.Contains(r.stdout, "Host h1: reachable, 2 clients, no changes, holds the lock") {
		t.Fatalf("plan after apply: exit %d\n%s", r.code, r.all())
	}

	// status covers both hosts.
	var st struct {
		Hosts []struct {
			Name      string   `json:"name"`
			Reachable bool     `json:"reachable"`
			Clients   []string `json:"clients"`
		} `json:"hosts"`
	}
	sr := f.run("status", "--json")
	if err := json.Unmarshal([]byte(sr.stdout), &st); err != nil || len(st.Hosts) != 2 || !st.Hosts[0].Reachable || !st.Hosts[1].Reachable {
		t.Fatalf("status --json hosts: %v\n%s", err, sr.all())
	}

	// One lock for the fleet, on the lock host (h1): a holder there blocks
	// apply, and h2 never gets a lock of its own.
	ctx := context.Background()
	h1, err := docker.Dial(ctx, docker.Endpoint{Host: ds[0].Host})
	if err != nil {
		t.Fatal(err)
	}
	defer h1.Close()
	unlock, err := h1.Lock(ctx, f.name, docker.Holder("hosts test holder"), 0)
	if err != nil {
		t.Fatal(err)
	}
	lr := f.run("apply", "--auto-approve", "--lock-timeout", "1s")
	if uerr := unlock(); uerr != nil {
		t.Fatal(uerr)
	}
	if lr.code != 1 || !strings.Contains(lr.all(), "hosts test holder") {
		t.Fatalf("apply under a lock held on h1: exit %d\n%s", lr.code, lr.all())
	}
	h2, err := docker.Dial(ctx, docker.Endpoint{Host: ds[1].Host})
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	if _, held, err := h2.LockHolder(ctx, f.name); err != nil || held {
		t.Errorf("h2 has a lock of the fleet (held %v, err %v)", held, err)
	}
	if info, held, err := h1.LockHolder(ctx, f.name); err != nil || held {
		t.Errorf("the lock on h1 was left behind: %v %v", info, err)
	}
}

func TestHostsUnreachableAndDownMidApply(t *testing.T) {
	ds := startHosts(t, 2)
	f := newTestFleet(t, 4)
	cs := f.clients()
	f.write(cs, "")
	f.writeHosts(ds, "")
	f.mustApply() // c0, c2 on h1; c1, c3 on h2

	// h2 goes down and c0's container is removed on h1.
	ds[1].Stop()
	onHost(t, ds[0], "rm", "-f", f.ctr("c0"))
	p := f.run("plan")
	if p.code != 1 {
		t.Fatalf("plan with a host down: exit %d, want 1\n%s", p.code, p.all())
	}
	for _, want := range []string{"Host h2: UNREACHABLE", "? unknown, nothing planned: c1, c3", "+ container " + f.ctr("c0")} {
		if !strings.Contains(p.stdout, want) {
			t.Errorf("plan lacks %q:\n%s", want, p.stdout)
		}
	}
	a := f.run("apply", "--auto-approve")
	if a.code != 1 || !strings.Contains(a.all(), "host h2 cannot be reached") {
		t.Fatalf("apply with a host down: exit %d\n%s", a.code, a.all())
	}
	got := hostClients(t, ds[0], f.name)
	if got["c0"] != "running h1" || len(got) != 2 {
		t.Fatalf("h1 after apply: %v, want c0 repaired and nothing of h2's clients", got)
	}

	// h2 comes back: the fleet converges again.
	ds[1].Restart()
	f.mustApply()
	if r := f.run("plan", "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("plan after h2 is back: exit %d\n%s", r.code, r.all())
	}

	// Down mid-apply: every client is replaced; c1's new container on h2
	// never gets healthy, and h2 stops while apply waits for it. h1's
	// clients are replaced anyway; apply fails naming h2.
	cs[1].extra = "    healthCheck:\n      path: /never-healthy\n      timeout: 2m\n"
	f.write(cs, "  env:\n    WAVE: \"2\"\n")
	f.writeHosts(ds, "")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := f.cmd(ctx, "apply", "--auto-approve")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Minute, func() bool { // c1's replacement on h2 is under way
		return strings.Contains(onHost(t, ds[1], "ps", "-a", "--format", "{{.Names}}"), f.ctr("c1")+".previous")
	})
	ds[1].Stop()
	err := cmd.Wait()
	t.Logf("apply while h2 went down:\n%s", out.String())
	f.noSecrets("apply", out.String())
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(out.String(), "host h2") {
		t.Fatalf("apply with h2 stopped mid-way: %v\n%s", err, out.String())
	}
	for _, c := range []string{"c0", "c2"} {
		env := onHost(t, ds[0], "inspect", "--format", "{{range .Config.Env}}{{println .}}{{end}}", f.ctr(c))
		if !strings.Contains(env, "WAVE=2") {
			t.Errorf("%s on h1 was not replaced while h2 went down", c)
		}
	}
	// Back up, with a health path that works: the interrupted replacement
	// is finished, nothing is lost.
	ds[1].Restart()
	cs[1].extra = ""
	f.write(cs, "  env:\n    WAVE: \"2\"\n")
	f.writeHosts(ds, "")
	f.mustApply()
	if got := hostClients(t, ds[1], f.name); got["c1"] != "running h2" || got["c3"] != "running h2" {
		t.Fatalf("h2 after recovery: %v", got)
	}
}

func TestHostsWatch(t *testing.T) {
	ds := startHosts(t, 2)
	f := newTestFleet(t, 2)
	cs := f.clients()
	f.write(cs, "")
	f.writeHosts(ds, "")
	w := startWatch(t, f, "--resync", "1s")
	// The daemon converges both hosts and reports each one reachable.
	waitUntil(t, "both clients healthy", 2*time.Minute, func() bool { return healthy(cs[0].port) && healthy(cs[1].port) })
	waitUntil(t, "fleet_host_reachable for h1 and h2", time.Minute, func() bool {
		return w.metric(`fleet_host_reachable{host="h1"}`) == "1" && w.metric(`fleet_host_reachable{host="h2"}`) == "1"
	})
	// Drift on h2 is repaired there, by the event or the next pass.
	onHost(t, ds[1], "rm", "-f", f.ctr("c1"))
	waitUntil(t, "c1 repaired on h2", 2*time.Minute, func() bool { return hostClients(t, ds[1], f.name)["c1"] == "running h2" })
	// h2 down: reported as such, h1's client stays up and nothing of h2 moves.
	ds[1].Stop()
	waitUntil(t, "fleet_host_reachable for h2 to drop", time.Minute, func() bool {
		return w.metric(`fleet_host_reachable{host="h2"}`) == "0"
	})
	if got := hostClients(t, ds[0], f.name); len(got) != 1 || got["c0"] != "running h1" {
		t.Errorf("h1 while h2 is down: %v", got)
	}
}

// TestHostsProxy: nginx on this machine fronts the lock host h1 (loopback)
// and h2, whose clients are published on h2's address only.
func TestHostsProxy(t *testing.T) {
	ds := startHosts(t, 2)
	f := newProxyFleet(t, 2)
	f.cs[0].extra = "    host: h1\n"
	f.cs[1].extra = "    host: h2\n"
	f.writeProxy("  tls: none\n")
	b, err := os.ReadFile(f.file)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b) + fmt.Sprintf("hosts:\n  - name: h1\n    endpoint: %s\n  - name: h2\n    endpoint: %s\n    address: %s\n",
		ds[0].Host, ds[1].Host, ds[1].Address)
	if err := os.WriteFile(f.file, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	f.mustApply()
	for _, c := range f.cs {
		if got := f.nameVia(domainOf(c)); got != uiName(c.display) {
			t.Errorf("%s via nginx: %q", c.name, got)
		}
	}
	if got := onHost(t, ds[0], "port", f.ctr("c0")); !strings.Contains(got, fmt.Sprintf("127.0.0.1:%d", f.cs[0].port)) {
		t.Errorf("c0 on the proxy's host is published on %q, want loopback", got)
	}
	if got := onHost(t, ds[1], "port", f.ctr("c1")); got != fmt.Sprintf("8080/tcp -> %s:%d", ds[1].Address, f.cs[1].port) {
		t.Errorf("c1 on h2 is published on %q, want only %s", got, ds[1].Address)
	}
	site, err := os.ReadFile(filepath.Join(f.ng.SitesDir, "c1.conf"))
	if err != nil || !strings.Contains(string(site), fmt.Sprintf("%s:%d", ds[1].Address, f.cs[1].port)) {
		t.Errorf("c1's site does not proxy to h2's address: %v\n%s", err, site)
	}
	if r := f.run("plan", "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("plan after apply: exit %d\n%s", r.code, r.all())
	}
}
