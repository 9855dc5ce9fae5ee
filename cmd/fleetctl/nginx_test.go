package main

import (
	fleetstatus "github.com/quantabase/fleetctl/pkg/status"

	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quantabase/fleetctl/pkg/nginx/nginxtest"
)

// proxyFleet is a test fleet fronted by a real nginx the test started.
type proxyFleet struct {
	*testFleet
	ng       *nginxtest.Server
	httpPort int
	cs       []clientDef
}

func newProxyFleet(t *testing.T, n int) *proxyFleet {
	f := newTestFleet(t, n) // fails without Docker, skips only with FLEETCTL_SKIP_DOCKER=1
	return &proxyFleet{testFleet: f, ng: nginxtest.Start(t), httpPort: nginxtest.FreePort(t), cs: f.clients()}
}

// writeProxy writes fleet.yaml with a proxy section (extra: more proxy lines).
func (f *proxyFleet) writeProxy(extra string) {
	f.t.Helper()
	// Names carry the fleet: other tests on this engine use openwebui-c0...
	f.write(f.cs, "  naming:\n    container: \"{fleet}-{client}\"\n    volume: \"{fleet}-{client}-data\"\n")
	test, _ := json.Marshal(f.ng.TestCommand())
	reload, _ := json.Marshal(f.ng.ReloadCommand())
	section := fmt.Sprintf("proxy:\n  sitesDir: %s\n  httpPort: %d\n  test: %s\n  reload: %s\n%s",
		f.ng.SitesDir, f.httpPort, test, reload, extra)
	fh, err := os.OpenFile(f.file, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		f.t.Fatal(err)
	}
	defer fh.Close()
	if _, err := fh.WriteString(section); err != nil {
		f.t.Fatal(err)
	}
}

// viaNginx sends GET path to nginx with Host: host.
func (f *proxyFleet) viaNginx(host, path string) (*http.Response, error) {
	req, err := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d%s", f.httpPort, path), nil)
	if err != nil {
		return nil, err
	}
	req.Host = host
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return client.Do(req)
}

// nameVia returns the stand-in's /api/config name as served through nginx.
func (f *proxyFleet) nameVia(host string) string {
	f.t.Helper()
	resp, err := f.viaNginx(host, "/api/config")
	if err != nil {
		f.t.Fatalf("GET /api/config via nginx, Host %s: %v", host, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var cfg struct {
		Name string `json:"name"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &cfg) != nil {
		f.t.Fatalf("GET /api/config via nginx, Host %s: HTTP %d: %s", host, resp.StatusCode, body)
	}
	return cfg.Name
}

// sitesSnapshot returns every file of the sites directory with its bytes.
func (f *proxyFleet) sitesSnapshot() map[string]string {
	f.t.Helper()
	es, err := os.ReadDir(f.ng.SitesDir)
	if err != nil {
		f.t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range es {
		b, err := os.ReadFile(filepath.Join(f.ng.SitesDir, e.Name()))
		if err != nil {
			f.t.Fatal(err)
		}
		out[e.Name()] = string(b)
	}
	return out
}

func domainOf(c clientDef) string { return c.name + ".example.com" }

// TestProxyNginx drives plan and apply against a real nginx and the real
// Docker engine: routing by Host for three clients, WebSocket upgrade,
// unbuffered streaming, drift repair of a hand-edited file, an unmanaged
// file left alone, and a failed nginx -t that changes nothing.
func TestProxyNginx(t *testing.T) {
	f := newProxyFleet(t, 3)
	unmanaged := "# written by hand; fleetctl must never touch this\n"
	unmanagedPath := filepath.Join(f.ng.SitesDir, "zz-hand.conf")
	if err := os.WriteFile(unmanagedPath, []byte(unmanaged), 0o640); err != nil {
		t.Fatal(err)
	}
	f.writeProxy("  tls: none\n")

	r := f.run("plan", "--detailed-exitcode")
	for _, c := range f.cs {
		if want := fmt.Sprintf("+ site %s.conf (client %s): site file missing", c.name, c.name); !strings.Contains(r.stdout, want) {
			t.Errorf("plan lacks %q", want)
		}
	}
	if r.code != 2 || !strings.Contains(r.stdout, "Plan: 9 to add, 0 to change, 0 to destroy.") {
		t.Fatalf("first plan: exit %d\n%s", r.code, r.all())
	}
	f.mustApply()
	f.ng.WaitReloaded(t, 1)

	t.Run("Host routes to the right client", func(t *testing.T) {
		for _, c := range f.cs {
			if got := f.nameVia(domainOf(c)); got != uiName(c.display) {
				t.Errorf("Host %s answered as %q, want %q", domainOf(c), got, uiName(c.display))
			}
			env := dockerCLI(t, "inspect", "--format", "{{json .Config.Env}}", f.name+"-"+c.name)
			if want := fmt.Sprintf("WEBUI_URL=http://%s:%d", domainOf(c), f.httpPort); !strings.Contains(env, want) {
				t.Errorf("%s: env lacks %s (tls: none)", c.name, want)
			}
		}
		if r := f.run("plan", "--detailed-exitcode"); r.code != 0 || !strings.Contains(r.stdout, "No changes.") {
			t.Fatalf("plan after apply: exit %d\n%s", r.code, r.all())
		}
	})

	t.Run("WebSocket upgrade passes through", func(t *testing.T) {
		f.webSocketEcho(t, domainOf(f.cs[1]))
	})

	t.Run("streamed response arrives in pieces", func(t *testing.T) {
		f.streamInPieces(t, domainOf(f.cs[2]))
	})

	t.Run("hand edit is drift and apply restores it", func(t *testing.T) {
		path := filepath.Join(f.ng.SitesDir, f.cs[1].name+".conf")
		orig, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		edited := strings.Replace(string(orig), "proxy_buffering off;", "proxy_buffering on;", 1)
		if err := os.WriteFile(path, []byte(edited), 0o644); err != nil {
			t.Fatal(err)
		}
		r := f.run("plan", "--detailed-exitcode")
		want := fmt.Sprintf("~ site %s.conf (client %s): hand-edited: hash mismatch", f.cs[1].name, f.cs[1].name)
		if r.code != 2 || !strings.Contains(r.stdout, want) || !strings.Contains(r.stdout, "Plan: 0 to add, 1 to change, 0 to destroy.") {
			t.Fatalf("plan after a hand edit: exit %d, want %q\n%s", r.code, want, r.all())
		}
		var st struct {
			Clients []fleetstatus.Row `json:"clients"`
		}
		if err := json.Unmarshal([]byte(f.run("status", "--json").stdout), &st); err != nil {
			t.Fatal(err)
		}
		if d := st.Clients[1].Drift; !strings.Contains(d, "hand-edited") {
			t.Errorf("status drift of %s: %q", f.cs[1].name, d)
		}
		f.mustApply()
		if got, _ := os.ReadFile(path); string(got) != string(orig) {
			t.Errorf("apply did not restore %s:\n%s", path, got)
		}
		if got, _ := os.ReadFile(unmanagedPath); string(got) != unmanaged {
			t.Errorf("unmanaged file changed: %q", got)
		}
		if fi, _ := os.Stat(unmanagedPath); fi.Mode().Perm() != 0o640 {
			t.Errorf("unmanaged file mode changed: %v", fi.Mode())
		}
	})

	t.Run("failed nginx -t changes nothing", func(t *testing.T) {
		before := f.sitesSnapshot()
		reloads := f.ng.Reloads(t)
		// Certificate files that exist but are not PEM: only nginx -t can tell.
		// (A missing file is caught earlier, as a conflict of its client.)
		certs := t.TempDir()
		for _, c := range f.cs {
			dir := filepath.Join(certs, domainOf(c))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"fullchain.pem", "privkey.pem"} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte("not a certificate\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
		}
		f.writeProxy(fmt.Sprintf("  tls: files\n  httpsPort: %d\n  certificate: %s/{domain}/fullchain.pem\n  certificateKey: %s/{domain}/privkey.pem\n", nginxtest.FreePort(t), certs, certs))
		r := f.run("apply", "--auto-approve")
		if r.code != 1 || !strings.Contains(r.all(), "cannot load certificate") || !strings.Contains(r.all(), "nginx configuration test failed") {
			t.Fatalf("apply with an invalid certificate: exit %d\n%s", r.code, r.all())
		}
		if after := f.sitesSnapshot(); !maps.Equal(before, after) {
			t.Errorf("sites directory changed after a failed test:\nbefore %v\nafter  %v", before, after)
		}
		if f.ng.Reloads(t) != reloads {
			t.Error("nginx was reloaded although the test failed")
		}
		// The old (plain HTTP) configuration still serves; the new one would redirect.
		for _, c := range f.cs {
			if got := f.nameVia(domainOf(c)); got != uiName(c.display) {
				t.Errorf("Host %s answered as %q after the failed apply", domainOf(c), got)
			}
		}
	})
}

// TestProxyReloadNotTaken: nginx -t passes but nginx does not take the
// reload (the sites move to a port the same nginx already binds on
// 127.0.0.1: bind() fails in the master, which keeps its old
// configuration). apply must fail the sync-sites action with nginx's own
// message, put every file back byte for byte, reload nginx with them, and
// leave the change planned; the clients are not harmed.
func TestProxyReloadNotTaken(t *testing.T) {
	f := newProxyFleet(t, 1)
	logLine := fmt.Sprintf("  tls: none\n  errorLog: %s\n", f.ng.ErrorLog)
	f.writeProxy(logLine)
	f.mustApply()
	before := f.sitesSnapshot()
	reloads := f.ng.Reloads(t)

	good := f.httpPort
	f.httpPort = f.ng.ControlPort // bound by nginx's own control server, on 127.0.0.1 only
	f.writeProxy(logLine)
	f.httpPort = good
	r := f.run("apply", "--auto-approve")
	if r.code != 1 || !strings.Contains(r.all(), "nginx did not load the new configuration") ||
		!strings.Contains(r.all(), "bind() to 0.0.0.0:") || !strings.Contains(r.all(), "Address already in use") {
		t.Fatalf("apply with a site nginx cannot bind: exit %d\n%s", r.code, r.all())
	}
	if !strings.Contains(r.all(), "sites") || !strings.Contains(r.all(), "restored") {
		t.Errorf("the error names neither the sync-sites action nor the restore:\n%s", r.all())
	}
	if after := f.sitesSnapshot(); !maps.Equal(before, after) {
		t.Errorf("sites directory differs from what nginx runs:\nbefore %v\nafter  %v", before, after)
	}
	if n := f.ng.Reloads(t) - reloads; n != 2 {
		t.Errorf("%d reload(s), want 2 (the one nginx refused, the one after the restore)", n)
	}
	if got := f.nameVia(domainOf(f.cs[0])); got != uiName(f.cs[0].display) {
		t.Errorf("the old configuration no longer serves: %q", got)
	}
	if r := f.run("plan", "--detailed-exitcode"); r.code != 2 || !strings.Contains(r.stdout, "site "+f.cs[0].name+".conf") {
		t.Errorf("the site change is not planned again: exit %d\n%s", r.code, r.all())
	}
}

// webSocketEcho does a hand-rolled RFC 6455 handshake through nginx and
// checks that one masked text frame comes back.
func (f *proxyFleet) webSocketEcho(t *testing.T, host string) {
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", f.httpPort), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	keyRaw := make([]byte, 16)
	rand.Read(keyRaw)
	key := base64.StdEncoding.EncodeToString(keyRaw)
	fmt.Fprintf(conn, "GET /_standin/ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", host, key)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Fatalf("handshake through nginx: %s %v", resp.Status, resp.Header)
	}
	msg := []byte("hello through nginx")
	mask := []byte{1, 2, 3, 4}
	frame := []byte{0x81, 0x80 | byte(len(msg))}
	frame = append(frame, mask...)
	for i, b := range msg {
		frame = append(frame, b^mask[i%4])
	}
	if _, err := conn.Write(frame); err != nil {
		t.Fatal(err)
	}
	hdr := make([]byte, 2)
	if _, err := io.ReadFull(br, hdr); err != nil {
		t.Fatal(err)
	}
	if hdr[0] != 0x81 || hdr[1]&0x80 != 0 || int(hdr[1]&0x7f) != len(msg) {
		t.Fatalf("echo frame header % x", hdr)
	}
	payload := make([]byte, len(msg))
	if _, err := io.ReadFull(br, payload); err != nil {
		t.Fatal(err)
	}
	if string(payload) != string(msg) {
		t.Errorf("echo %q, want %q", payload, msg)
	}
}

// streamInPieces checks that nginx does not buffer a streamed answer: the
// first event arrives well before the last one. Only ordering and a gap
// much smaller than the stream's own spacing are asserted, not timings.
func (f *proxyFleet) streamInPieces(t *testing.T, host string) {
	const n, interval = 5, 300 * time.Millisecond
	resp, err := f.viaNginx(host, fmt.Sprintf("/_standin/stream?n=%d&interval=%s", n, interval))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	var got []string
	var at []time.Time
	for sc.Scan() {
		if line := sc.Text(); line != "" {
			got, at = append(got, line), append(at, time.Now())
		}
	}
	want := []string{"data: 1", "data: 2", "data: 3", "data: 4", "data: 5"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("stream: %q", got)
	}
	// Buffered, all five lines would arrive together (a gap near zero);
	// streamed, they are (n-1)*interval apart. Half of that is generous.
	if gap := at[n-1].Sub(at[0]); gap < (n-1)*interval/2 {
		t.Errorf("the first event arrived only %s before the last: nginx buffered the stream", gap)
	}
}
