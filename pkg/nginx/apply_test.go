package nginx_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quantabase/fleetctl/pkg/nginx"
	"github.com/quantabase/fleetctl/pkg/nginx/nginxtest"
	"github.com/quantabase/fleetctl/pkg/resource"
)

// backend is an upstream that answers with its name.
func backend(t *testing.T, name string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s proto=%s", name, r.Header.Get("X-Forwarded-Proto"))
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func site(client, upstream string, port int) *resource.Site {
	return &resource.Site{Fleet: "nt", Client: client, Domain: client + ".example.test", Upstream: upstream,
		HTTPPort: port, ClientMaxBodySize: "10m", ReadTimeout: time.Minute, ConnectTimeout: 5 * time.Second}
}

// get asks nginx on port for / with the given Host.
func get(t *testing.T, port int, host string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/", port), nil)
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET Host %s: %v", host, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("%d %s", resp.StatusCode, b)
}

// snapshot returns every file of dir (dot-files included) with its bytes.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range es {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(b)
	}
	return out
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestApplySitesAgainstRealNginx(t *testing.T) {
	ng := nginxtest.Start(t)
	ctx := context.Background()
	port := freePort(t)
	up := map[string]string{"a": backend(t, "A"), "b": backend(t, "B")}
	unmanaged := "# written by hand, not fleetctl's\n"
	if err := os.WriteFile(filepath.Join(ng.SitesDir, "hand.conf"), []byte(unmanaged), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &nginx.Sites{Dir: ng.SitesDir, Test: ng.TestCommand(), Reload: ng.ReloadCommand(), Fleet: "nt"}

	create := []resource.SiteChange{
		{Op: resource.SiteCreate, File: "a.conf", Client: "a", Site: site("a", up["a"], port)},
		{Op: resource.SiteCreate, File: "b.conf", Client: "b", Site: site("b", up["b"], port)},
	}
	if err := s.ApplySites(ctx, create); err != nil {
		t.Fatal(err)
	}
	ng.WaitReloaded(t, 1)
	for c, want := range map[string]string{"a": "200 A proto=http", "b": "200 B proto=http"} {
		if got := get(t, port, c+".example.test"); got != want {
			t.Errorf("Host %s: %q, want %q", c, got, want)
		}
	}

	st, err := s.Observe(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Files) != 3 || !st.File("a.conf").Managed || st.File("hand.conf").Managed ||
		st.File("a.conf").Hash != st.File("a.conf").Actual || *st.File("b.conf").Site != *site("b", up["b"], port) {
		t.Fatalf("observed %+v", st.Files)
	}

	t.Run("failed test restores every file and does not reload", func(t *testing.T) {
		before := snapshot(t, ng.SitesDir)
		reloads := ng.Reloads(t)
		broken := site("a", up["a"], port)
		broken.TLS, broken.HTTPSPort = true, freePort(t)
		broken.Certificate, broken.CertificateKey = "/nonexistent/fleetctl/cert.pem", "/nonexistent/fleetctl/key.pem"
		err := s.ApplySites(ctx, []resource.SiteChange{
			{Op: resource.SiteUpdate, File: "a.conf", Client: "a", Site: broken},
			{Op: resource.SiteDelete, File: "b.conf", Client: "b"},
			{Op: resource.SiteCreate, File: "c.conf", Client: "c", Site: site("c", up["a"], port)},
		})
		if !errors.Is(err, nginx.ErrTestFailed) || !strings.Contains(err.Error(), "/nonexistent/fleetctl/cert.pem") {
			t.Fatalf("ApplySites = %v, want ErrTestFailed with nginx's message", err)
		}
		t.Logf("nginx said: %v", err)
		if after := snapshot(t, ng.SitesDir); !maps.Equal(before, after) {
			t.Errorf("directory changed:\nbefore %v\nafter  %v", keys(before), keys(after))
		}
		if ng.Reloads(t) != reloads {
			t.Error("nginx was reloaded after a failed test")
		}
		if got := get(t, port, "b.example.test"); got != "200 B proto=http" {
			t.Errorf("old configuration not served: %q", got)
		}
	})

	t.Run("never overwrites a file it does not manage", func(t *testing.T) {
		err := s.ApplySites(ctx, []resource.SiteChange{{Op: resource.SiteUpdate, File: "hand.conf", Client: "hand", Site: site("hand", up["a"], port)}})
		if err == nil || !strings.Contains(err.Error(), "not managed") {
			t.Fatalf("ApplySites = %v", err)
		}
		if b, _ := os.ReadFile(filepath.Join(ng.SitesDir, "hand.conf")); string(b) != unmanaged {
			t.Errorf("unmanaged file changed: %q", b)
		}
	})

	t.Run("refuses an unsafe site before writing anything", func(t *testing.T) {
		before := snapshot(t, ng.SitesDir)
		bad := site("a", up["a"], port)
		bad.Domain = "a.example.test; return 200"
		err := s.ApplySites(ctx, []resource.SiteChange{
			{Op: resource.SiteDelete, File: "b.conf", Client: "b"},
			{Op: resource.SiteUpdate, File: "a.conf", Client: "a", Site: bad},
		})
		if !errors.Is(err, nginx.ErrUnsafe) {
			t.Fatalf("ApplySites = %v, want ErrUnsafe", err)
		}
		if after := snapshot(t, ng.SitesDir); !maps.Equal(before, after) {
			t.Error("directory changed")
		}
	})

	t.Run("delete reloads once", func(t *testing.T) {
		reloads := ng.Reloads(t)
		if err := s.ApplySites(ctx, []resource.SiteChange{{Op: resource.SiteDelete, File: "b.conf", Client: "b"}}); err != nil {
			t.Fatal(err)
		}
		ng.WaitReloaded(t, reloads+1)
		if _, err := os.Stat(filepath.Join(ng.SitesDir, "b.conf")); !os.IsNotExist(err) {
			t.Errorf("b.conf still there: %v", err)
		}
		if got := get(t, port, "a.example.test"); got != "200 A proto=http" {
			t.Errorf("a after delete: %q", got)
		}
	})
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// A reload that fails after a passed test leaves the pending marker, so the
// next plan retries; the retry (no file changes) tests and reloads and
// clears it. A missing certificate is reported by Observe.
func TestPendingReloadIsRetried(t *testing.T) {
	ng := nginxtest.Start(t)
	ctx := context.Background()
	port := freePort(t)
	broken := &nginx.Sites{Dir: ng.SitesDir, Test: ng.TestCommand(), Reload: []string{"false"}, Fleet: "nt"}
	err := broken.ApplySites(ctx, []resource.SiteChange{
		{Op: resource.SiteCreate, File: "a.conf", Client: "a", Site: site("a", backend(t, "A"), port)},
	})
	if err == nil || !strings.Contains(err.Error(), "reload failed") {
		t.Fatalf("want a reload failure, got %v", err)
	}
	missing := filepath.Join(t.TempDir(), "no-such-cert.pem")
	st, err := broken.Observe(ctx, []string{missing})
	if err != nil {
		t.Fatal(err)
	}
	if !st.Pending || !st.IsMissing(missing) {
		t.Fatalf("pending %t, missing %v", st.Pending, st.Missing)
	}

	good := &nginx.Sites{Dir: ng.SitesDir, Test: ng.TestCommand(), Reload: ng.ReloadCommand(), Fleet: "nt"}
	if err := good.ApplySites(ctx, nil); err != nil {
		t.Fatal(err)
	}
	ng.WaitReloaded(t, 1)
	if got := get(t, port, "a.example.test"); got != "200 A proto=http" {
		t.Fatalf("after the retried reload: %q", got)
	}
	if st, _ := good.Observe(ctx, nil); st.Pending {
		t.Fatal("pending marker left after a successful reload")
	}
}

// nginx -t passes, but the reload fails in the master: the new site listens
// on every address of a port the same nginx already binds on one address
// (bind() ... failed (98: Address already in use) in its error log), and
// nginx keeps its old configuration. ApplySites must notice, fail with
// nginx's message, and leave the directory as nginx runs it.
func TestReloadNotTakenIsAnError(t *testing.T) {
	ng := nginxtest.Start(t)
	ctx := context.Background()
	port := freePort(t)
	s := &nginx.Sites{Dir: ng.SitesDir, Test: ng.TestCommand(), Reload: ng.ReloadCommand(), Fleet: "nt", ErrorLog: ng.ErrorLog}
	if err := s.ApplySites(ctx, []resource.SiteChange{{Op: resource.SiteCreate, File: "a.conf", Client: "a", Site: site("a", backend(t, "A"), port)}}); err != nil {
		t.Fatal(err)
	}
	ng.WaitReloaded(t, 1)
	before := snapshot(t, ng.SitesDir)
	reloads := ng.Reloads(t)

	// ControlPort is bound on 127.0.0.1 only; this site wants *:ControlPort.
	clash := site("b", backend(t, "B"), ng.ControlPort)
	moved := site("a", backend(t, "A2"), port)
	err := s.ApplySites(ctx, []resource.SiteChange{
		{Op: resource.SiteCreate, File: "b.conf", Client: "b", Site: clash},
		{Op: resource.SiteUpdate, File: "a.conf", Client: "a", Site: moved},
	})
	if err == nil {
		t.Fatalf("ApplySites reported success, but nginx kept its old configuration:\n%s", ng.Log(t))
	}
	t.Logf("ApplySites: %v", err)
	if !errors.Is(err, nginx.ErrReloadNotTaken) || !strings.Contains(err.Error(), "bind() to 0.0.0.0:") ||
		!strings.Contains(err.Error(), "Address already in use") || !strings.Contains(err.Error(), "restored") {
		t.Errorf("want ErrReloadNotTaken with nginx's bind() message and the restore, got %v", err)
	}
	// The directory is as nginx runs it: byte for byte as before, no marker,
	// and nginx was reloaded once more with it.
	if after := snapshot(t, ng.SitesDir); !maps.Equal(before, after) {
		t.Errorf("directory changed:\nbefore %v\nafter  %v", keys(before), keys(after))
	}
	if st, _ := s.Observe(ctx, nil); st.Pending {
		t.Error("pending marker left although the files were restored and reloaded")
	}
	if n := ng.Reloads(t); n != reloads+2 {
		t.Errorf("reloads: %d, want the failed one and the one after the restore (%d)", n-reloads, 2)
	}
	if got := get(t, port, "a.example.test"); got != "200 A proto=http" {
		t.Errorf("old configuration not served: %q", got)
	}
}

// When the check cannot reach nginx at all, the reload is not confirmed:
// the same restore, and the error says where fleetctl looked.
func TestReloadUnconfirmedWhenNginxUnreachable(t *testing.T) {
	ng := nginxtest.Start(t)
	ctx := context.Background()
	port := freePort(t)
	s := &nginx.Sites{Dir: ng.SitesDir, Test: ng.TestCommand(), Reload: ng.ReloadCommand(), Fleet: "nt",
		ErrorLog: ng.ErrorLog, ProbeHost: "::1", VerifyTimeout: time.Second} // nginx listens on IPv4 only
	err := s.ApplySites(ctx, []resource.SiteChange{{Op: resource.SiteCreate, File: "a.conf", Client: "a", Site: site("a", backend(t, "A"), port)}})
	if !errors.Is(err, nginx.ErrReloadNotTaken) || !strings.Contains(err.Error(), "no answer from [::1]:") || !strings.Contains(err.Error(), "proxy.probeHost") {
		t.Fatalf("ApplySites = %v", err)
	}
	if files := snapshot(t, ng.SitesDir); len(files) != 0 {
		t.Errorf("files left: %v", keys(files))
	}
}
