package nginx_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
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
