package watch

import (
	"bytes"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sampleStatus is a fleet as an operator would see it on a bad morning: one
// client in backoff, one just repaired, recent passes of every kind.
func sampleStatus() Status {
	now := time.Date(2026, 11, 28, 9, 30, 0, 0, time.UTC)
	c := func(name string, port int, db, state, health string) ClientStatus {
		return ClientStatus{Name: name, Container: "openwebui-" + name, State: state, Health: health, Port: port,
			Domain: name + ".yourdomain.com", Image: "ghcr.io/open-webui/open-webui:main", Database: db}
	}
	s := Status{
		Fleet: "quantabase", SpecPath: "/etc/fleetctl/fleet.yaml", SpecValid: true, DockerOK: true,
		SpecLoaded: now.Add(-3 * time.Hour), LastSuccess: now.Add(-4 * time.Second),
		Started: now.Add(-26 * time.Hour), Now: now, Version: "v0.3.0",
		Clients: []ClientStatus{
			c("acme-corp", 8081, "sqlite", "running", "healthy"),
			c("beta-client", 8082, "postgres", "running", "healthy"),
			c("delta-labs", 8084, "sqlite", "exited", "-"),
			c("gamma-inc", 8083, "sqlite", "running", "healthy"),
			c("omega-org", 8085, "postgres", "running", "healthy"),
		},
	}
	s.Clients[0].LastChange, s.Clients[0].LastChangeWhat = now.Add(-2*time.Minute), "create-container: container missing"
	s.Clients[1].LastChange, s.Clients[1].LastChangeWhat = now.Add(-3*time.Hour), "recreate-container: env WEBUI_NAME changed"
	s.Clients[2].LastError = "openwebui-delta-labs: container exited with code 3 before its health check passed; last log lines: <script>alert(1)</script>"
	s.Clients[2].LastErrorAt, s.Clients[2].Failures = now.Add(-40*time.Second), 3
	s.Clients[2].BackoffUntil = now.Add(80 * time.Second)
	s.Reconciles = []ReconcileRecord{
		{Start: now.Add(-4 * time.Second), Duration: 95 * time.Millisecond, Trigger: "resync", Result: "success", Excluded: []string{"delta-labs"}},
		{Start: now.Add(-40 * time.Second), Duration: 31 * time.Second, Trigger: "backoff", Result: "failure", Actions: 1, Failed: 1},
		{Start: now.Add(-2 * time.Minute), Duration: 640 * time.Millisecond, Trigger: "docker", Result: "success", Actions: 1},
		{Start: now.Add(-5 * time.Minute), Duration: 12 * time.Second, Trigger: "docker", Result: "locked", Message: "lock fleet quantabase: fleet is locked by ci@runner pid 812: fleetctl apply"},
		{Start: now.Add(-3 * time.Hour), Duration: 2100 * time.Millisecond, Trigger: "file", Result: "success", Actions: 1},
	}
	return s
}

func TestPageRenders(t *testing.T) {
	var buf bytes.Buffer
	s := sampleStatus()
	if err := RenderPage(&buf, s, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	for _, want := range []string{
		`<meta name="viewport" content="width=device-width, initial-scale=1">`,
		"acme-corp", "beta-client", "delta-labs", "8084", "postgres", "gamma-inc.yourdomain.com",
		"degraded", "3 failures", "backing off: delta-labs", "locked",
		"&lt;script&gt;alert(1)&lt;/script&gt;", // error text is escaped
	} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, bad := range []string{"<script", "src=\"http", "href=\"http", "@import", "url("} {
		if strings.Contains(html, bad) {
			t.Errorf("page contains %q (no scripts or external assets allowed)", bad)
		}
	}
	if strings.Contains(html, `id="sync-leader"`) {
		t.Error("sync leader shown although no sync cluster is configured")
	}
	s.SyncLeader = &SyncLeader{Node: "node-b", Since: s.Now.Add(-time.Hour)}
	s.SpecValid, s.SpecErrors = false, []string{"fleet.yaml:14:11: clients[1].port: must be at least 1024 (got 80)"}
	buf.Reset()
	if err := RenderPage(&buf, s, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`id="sync-leader"`, "node-b", `id="spec-errors"`, "clients[1].port: must be at least 1024", "fleet.yaml invalid"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// TestPageScreenshot renders the page in headless Chromium at phone and
// desktop widths. FLEETCTL_UPDATE_SCREENSHOT=1 refreshes docs/status-page*.png.
func TestPageScreenshot(t *testing.T) {
	chromium := requireTool(t, "chromium", "chromium")
	dir := t.TempDir()
	var buf bytes.Buffer
	if err := RenderPage(&buf, sampleStatus(), 30*time.Second); err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(dir, "status.html")
	if err := os.WriteFile(page, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, shot := range []struct {
		name   string
		w, h   int
		update string
	}{
		{"desktop", 1280, 900, "status-page.png"},
		{"phone", 390, 1400, "status-page-phone.png"},
	} {
		t.Run(shot.name, func(t *testing.T) {
			out := filepath.Join(dir, shot.name+".png")
			cmd := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
				"--disable-dev-shm-usage", "--force-device-scale-factor=1",
				"--user-data-dir="+filepath.Join(dir, "profile-"+shot.name),
				"--window-size="+itoa(shot.w)+","+itoa(shot.h), "--screenshot="+out, "file://"+page)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("chromium: %v\n%s", err, b)
			}
			f, err := os.Open(out)
			if err != nil {
				t.Fatalf("no screenshot: %v", err)
			}
			defer f.Close()
			img, err := png.Decode(f)
			if err != nil {
				t.Fatalf("screenshot is not a PNG: %v", err)
			}
			if b := img.Bounds(); b.Dx() != shot.w || b.Dy() != shot.h {
				t.Fatalf("screenshot is %v, want %dx%d", b, shot.w, shot.h)
			}
			if os.Getenv("FLEETCTL_UPDATE_SCREENSHOT") == "1" {
				data, _ := os.ReadFile(out)
				if err := os.WriteFile(filepath.Join("..", "..", "docs", shot.update), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
