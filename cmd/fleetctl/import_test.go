package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const testExtraSecret = "sk-extra-SECRET-41c7e2"

// legacyClient starts a client exactly as the old start-template.sh did and
// removes it (container and volume) after the test.
func legacyClient(t *testing.T, name string, port int, extra ...string) {
	t.Helper()
	args := append([]string{"../../testdata/legacy/start-template.sh", name, fmt.Sprint(port), name + ".example.com"}, extra...)
	cmd := exec.Command("bash", args...)
	cmd.Env = append(os.Environ(), "OPENWEBUI_IMAGE="+standinImage, "GOOGLE_CLIENT_ID=legacy.apps.googleusercontent.com",
		"GOOGLE_CLIENT_SECRET="+testOAuthSecret)
	t.Cleanup(func() {
		exec.Command("docker", "rm", "-f", "openwebui-"+name, "openwebui-"+name+".previous").Run()
		exec.Command("docker", "volume", "rm", "-f", "openwebui-"+name+"-data").Run()
	})
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("start-template.sh %s: %v\n%s", name, err, out)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/health", port))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("legacy client %s never became healthy", name)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// runEnv runs fleetctl with extra environment, checking no output leaks a secret.
func runEnv(t *testing.T, extraEnv []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, fleetctlBin(t), args...)
	cmd.Env = append(os.Environ(), extraEnv...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{testOAuthSecret, testExtraSecret} {
		if strings.Contains(r.all(), s) {
			t.Fatalf("fleetctl %v printed a secret value", args)
		}
	}
	return r
}

// Containers made exactly as the old scripts made them are imported into a
// fleet.yaml whose plan is one adopt per client; applying it keeps each
// client's data and secret key (sessions survive), and then nothing is left
// to change.
func TestImportAdoptsOldScriptContainers(t *testing.T) {
	requireDocker(t)
	fleetName := "it-" + randHex(4)
	a, b := fleetName+"-a", fleetName+"-b"
	ports := freePorts(t, 2)
	legacyClient(t, a, ports[0])
	legacyClient(t, b, ports[1], "-e", "OPENAI_API_KEY="+testExtraSecret, "-e", "CUSTOM_FLAG=on")
	t.Cleanup(func() {
		if ids := dockerCLI(t, "ps", "-aq", "--filter", "label=io.fleetctl.fleet="+fleetName); ids != "" {
			exec.Command("docker", append([]string{"rm", "-f"}, strings.Fields(ids)...)...).Run()
		}
	})
	postJSON(t, ports[0], "/_standin/chats", map[string]string{"id": "chat-1", "user_id": "u1", "title": "old data", "chat": `{"messages":[]}`})
	digests := map[int]string{}
	for _, p := range ports {
		var d struct{ SHA256 string }
		getJSON(t, p, "/_standin/secret-key-digest", &d)
		digests[p] = d.SHA256
	}

	dir := t.TempDir()
	file := filepath.Join(dir, "fleet.yaml")
	r := runEnv(t, nil, "import", "--fleet", fleetName, "--out", file, "--client", a, "--client", b)
	if r.code != 0 || !strings.Contains(r.stdout, "Imported 2 client(s)") {
		t.Fatalf("import: exit %d\n%s", r.code, r.all())
	}
	yaml, _ := os.ReadFile(file)
	example, _ := os.ReadFile(filepath.Join(dir, "fleet.secrets.env.example"))
	for _, s := range []string{testOAuthSecret, testExtraSecret} {
		if strings.Contains(string(yaml), s) || strings.Contains(string(example), s) {
			t.Fatalf("a secret value was written into the imported files:\n%s\n%s", yaml, example)
		}
	}
	envB := strings.ToUpper(strings.ReplaceAll(b, "-", "_"))
	if !strings.Contains(string(example), "GOOGLE_CLIENT_SECRET=") || !strings.Contains(string(example), envB+"_OPENAI_API_KEY=") ||
		!strings.Contains(string(yaml), `CUSTOM_FLAG: "on"`) || !strings.Contains(string(yaml), `displayName: "QuantaBase - `+a+`"`) {
		t.Fatalf("imported files:\n%s\n%s", yaml, example)
	}
	if fi, err := os.Stat(filepath.Join(dir, "secrets", a+".webui_secret_key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret key file: %v", err)
	}
	if r := runEnv(t, nil, "import", "--fleet", fleetName, "--out", file, "--client", a); r.code != 1 || !strings.Contains(r.stderr, "already exists") {
		t.Fatalf("a second import must not overwrite: exit %d\n%s", r.code, r.all())
	}

	secrets := []string{"GOOGLE_CLIENT_SECRET=" + testOAuthSecret, envB + "_OPENAI_API_KEY=" + testExtraSecret}
	r = runEnv(t, secrets, "plan", "--adopt", "--json", "-f", file)
	var p struct {
		Actions []struct {
			Kind   string   `json:"kind"`
			Causes []string `json:"causes"`
		} `json:"actions"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &p); err != nil || r.code != 0 || len(p.Actions) != 2 {
		t.Fatalf("plan --adopt: exit %d, %v\n%s", r.code, err, r.all())
	}
	for _, act := range p.Actions {
		if act.Kind != "recreate-container" || len(act.Causes) != 1 || !strings.HasPrefix(act.Causes[0], "adopt ") {
			t.Fatalf("plan --adopt has more than adopts: %+v", p.Actions)
		}
	}
	if r := runEnv(t, secrets, "apply", "--adopt", "--auto-approve", "-f", file); r.code != 0 {
		t.Fatalf("apply --adopt: exit %d\n%s", r.code, r.all())
	}
	var chat struct{ Title string }
	if code := getJSON(t, ports[0], "/_standin/chats/chat-1", &chat); code != 200 || chat.Title != "old data" {
		t.Fatalf("data after adoption: HTTP %d %+v", code, chat)
	}
	for _, port := range ports {
		var d struct{ SHA256 string }
		getJSON(t, port, "/_standin/secret-key-digest", &d)
		if d.SHA256 == "" || d.SHA256 != digests[port] {
			t.Fatalf("secret key changed on adoption (port %d): sessions would be lost", port)
		}
	}
	if got := appName(t, ports[0]); got != uiName("QuantaBase - "+a) {
		t.Fatalf("name after adoption %q", got)
	}
	if r := runEnv(t, secrets, "plan", "--detailed-exitcode", "-f", file); r.code != 0 {
		t.Fatalf("plan after adoption: exit %d\n%s", r.code, r.all())
	}
}
