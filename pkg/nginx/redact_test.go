package nginx_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/quantabase/fleetctl/pkg/nginx"
	"github.com/quantabase/fleetctl/pkg/nginx/nginxtest"
	"github.com/quantabase/fleetctl/pkg/redact"
	"github.com/quantabase/fleetctl/pkg/resource"
)

// nginx quotes the configuration it refuses, and the test and reload
// commands may be wrappers that print more: their output reaches fleetctl's
// errors only through the masker of the context.
func TestCommandOutputMasked(t *testing.T) {
	const secret = "ngx_Distinct_Sekr1t_4"
	ng := nginxtest.Start(t)
	// A hand-written file nginx includes, with the secret as a directive
	// nginx does not know: `nginx -t` quotes it.
	if err := os.WriteFile(filepath.Join(ng.SitesDir, "hand.conf"), []byte(secret+" on;\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &nginx.Sites{Dir: ng.SitesDir, Test: ng.TestCommand(), Reload: ng.ReloadCommand(), Fleet: "nt"}
	change := []resource.SiteChange{{Op: resource.SiteCreate, File: "a.conf", Client: "a", Site: site("a", "127.0.0.1:9", nginxtest.FreePort(t))}}

	err := s.ApplySites(context.Background(), change)
	if !errors.Is(err, nginx.ErrTestFailed) || !strings.Contains(err.Error(), secret) {
		t.Fatalf("without a masker nginx's message should quote the directive (else this test proves nothing): %v", err)
	}
	ctx := redact.NewContext(context.Background(), redact.New(secret))
	err = s.ApplySites(ctx, change)
	if !errors.Is(err, nginx.ErrTestFailed) {
		t.Fatalf("ApplySites = %v, want ErrTestFailed", err)
	}
	if strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), `unknown directive "`+redact.Sensitive+`"`) {
		t.Errorf("nginx's message not masked: %v", err)
	}
}

// After a reload nginx did not take, the [emerg] lines of its error log are
// the message: they quote the configuration (here the address a server
// block asked for, standing in for any echoed secret) and pass the masker.
func TestErrorLogLinesMasked(t *testing.T) {
	ng := nginxtest.Start(t)
	port := nginxtest.FreePort(t)
	s := &nginx.Sites{Dir: ng.SitesDir, Test: ng.TestCommand(), Reload: ng.ReloadCommand(), Fleet: "nt", ErrorLog: ng.ErrorLog}
	if err := s.ApplySites(context.Background(), []resource.SiteChange{{Op: resource.SiteCreate, File: "a.conf", Client: "a", Site: site("a", "127.0.0.1:9", port)}}); err != nil {
		t.Fatal(err)
	}
	ng.WaitReloaded(t, 1)
	// ControlPort is bound on 127.0.0.1 only; this site wants *:ControlPort.
	secret := "0.0.0.0:" + strconv.Itoa(ng.ControlPort)
	ctx := redact.NewContext(context.Background(), redact.New(secret))
	err := s.ApplySites(ctx, []resource.SiteChange{{Op: resource.SiteCreate, File: "b.conf", Client: "b", Site: site("b", "127.0.0.1:9", ng.ControlPort)}})
	if !errors.Is(err, nginx.ErrReloadNotTaken) || !strings.Contains(err.Error(), "bind() to "+redact.Sensitive) {
		t.Fatalf("want ErrReloadNotTaken quoting nginx's bind() line, masked: %v", err)
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error log line not masked: %v", err)
	}
}
