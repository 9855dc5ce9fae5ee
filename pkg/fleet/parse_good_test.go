package fleet

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// exampleFleets is the root fleet.yaml and every fleet.yaml under
// examples/, found afresh each run: a new example is checked without
// anyone listing it here.
func exampleFleets(t testing.TB) []string {
	t.Helper()
	paths := []string{"../../fleet.yaml"}
	err := filepath.WalkDir("../../examples", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == "fleet.yaml" {
			paths = append(paths, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 6 { // fleet.yaml and examples/{basic,ci,demo,nginx,postgres}: fewer is a bug here
		t.Fatalf("found only %v", paths)
	}
	return paths
}

// Every example loads and validates (strict schema, every rule, defaults).
func TestLoadExamples(t *testing.T) {
	for _, path := range exampleFleets(t) {
		t.Run(path, func(t *testing.T) {
			spec, err := Load(path)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(raw)
			if spec.Path != path || spec.Digest != hex.EncodeToString(sum[:]) {
				t.Errorf("Path, Digest = %q, %q", spec.Path, spec.Digest)
			}
			if len(spec.Clients) == 0 {
				t.Fatal("no clients")
			}
			for _, c := range spec.Clients {
				if c.Line < 1 || c.Column < 1 || c.State == "" || c.Image == "" || c.Database == nil || c.HealthCheck == nil {
					t.Errorf("client %s not defaulted: %+v", c.Name, c)
				}
			}
		})
	}
}

func TestRootFleet(t *testing.T) {
	spec, err := Load("../../fleet.yaml")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile("../../fleet.yaml")
	if !strings.HasPrefix(string(raw), "# yaml-language-server: $schema=./schema/fleet.schema.json\n") {
		t.Error("fleet.yaml must start with the yaml-language-server schema comment")
	}
	if spec.Fleet != "quantabase" || spec.SecretKeySeed != "${file:./fleet.seed}" {
		t.Errorf("fleet, seed = %q, %q", spec.Fleet, spec.SecretKeySeed)
	}
	acme, beta := spec.Client("acme-corp"), spec.Client("beta-client")
	if acme == nil || beta == nil || spec.Client("nope") != nil {
		t.Fatalf("Client lookup: %v %v", acme, beta)
	}
	if acme.Database.Backend != BackendSQLite || beta.Database.Backend != BackendPostgres || beta.Database.URL != "${env:BETA_DATABASE_URL}" {
		t.Errorf("databases: %+v %+v", acme.Database, beta.Database)
	}
	if acme.OAuth == nil || acme.OAuth.Google.ClientSecret != "${env:GOOGLE_CLIENT_SECRET}" || acme.OAuth.AllowedDomains[0] != "martins.net" {
		t.Errorf("oauth not inherited: %+v", acme.OAuth)
	}
	if got := spec.ContainerName(acme); got != "openwebui-acme-corp" {
		t.Errorf("ContainerName = %q", got)
	}
	if got := spec.VolumeName(acme); got != "openwebui-acme-corp-data" {
		t.Errorf("VolumeName = %q", got)
	}
	if beta.DisplayName != "" || acme.DisplayName != "ACME Corp" {
		t.Errorf("displayName: %q %q", acme.DisplayName, beta.DisplayName)
	}
	refs := fmt.Sprint(spec.Refs())
	if refs != "[${env:BETA_DATABASE_URL} ${env:GOOGLE_CLIENT_SECRET} ${file:./fleet.seed}]" {
		t.Errorf("Refs = %s", refs)
	}
}

// goodDir holds the fleet files that load, shared with cmd/fleetctl.
var goodDir = filepath.Join("..", "..", "testdata", "fleet", "good")

func readGood(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(goodDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDefaulting(t *testing.T) {
	spec, err := Parse(readGood(t, "defaulting.yaml"), "d.yaml")
	if err != nil {
		t.Fatal(err)
	}
	plain, custom := &spec.Clients[0], &spec.Clients[1]
	checks := []struct {
		name      string
		got, want any
	}{
		{"plain position", [2]int{plain.Line, plain.Column}, [2]int{17, 5}},
		{"custom position", [2]int{custom.Line, custom.Column}, [2]int{19, 5}},
		{"plain state", plain.State, StateRunning},
		{"custom state", custom.State, StateStopped},
		{"plain image", plain.Image, "registry.local:5000/team/webui:v1"},
		{"plain pull", plain.PullPolicy, PullNever},
		{"custom pull", custom.PullPolicy, PullAlways},
		{"plain restart", plain.RestartPolicy, "always"},
		{"custom restart", custom.RestartPolicy, "no"},
		{"plain bind", plain.BindAddress, "0.0.0.0"},
		{"custom bind", custom.BindAddress, "::1"},
		{"plain env", plain.Env, map[string]string{"A": "1", "B": "2"}},
		{"custom env", custom.Env, map[string]string{"A": "1", "B": "two", "C": "3"}},
		{"plain resources", *plain.Resources, Resources{Memory: "1g", CPUs: 2}},
		{"custom resources", *custom.Resources, Resources{CPUs: 0.5}},
		{"plain health", *plain.HealthCheck, HealthCheck{Path: "/health/db", Timeout: Duration(30 * time.Second), Interval: Duration(DefaultHealthEvery)}},
		{"custom health", *custom.HealthCheck, HealthCheck{Path: "/health/db", Timeout: Duration(30 * time.Second), Interval: Duration(2 * time.Second)}},
		{"plain oauth id", plain.OAuth.Google.ClientID, "id.apps.googleusercontent.com"},
		{"custom oauth id", custom.OAuth.Google.ClientID, "other"},
		{"custom signup", *custom.OAuth.EnableSignup, false},
		{"plain database", *plain.Database, Database{Backend: BackendSQLite}},
		{"custom database", *custom.Database, Database{Backend: BackendPostgres, URL: "${env:DB}"}},
		{"custom secretKey", custom.SecretKey, SecretRef("${file:keys/custom}")},
		{"container name", spec.ContainerName(plain), "df-plain"},
		{"volume name", spec.VolumeName(custom), "df-custom.data"},
		{"defaults untouched", spec.Defaults.Env, map[string]string{"A": "1", "B": "2"}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
	// Each client owns its copies.
	plain.Env["A"] = "changed"
	plain.OAuth.AllowedDomains[0] = "changed.com"
	plain.Resources.CPUs = 9
	if spec.Defaults.Env["A"] != "1" || spec.Defaults.OAuth.AllowedDomains[0] != "example.com" || spec.Defaults.Resources.CPUs != 2 {
		t.Error("a client's defaulted fields alias the defaults")
	}
	if b, err := custom.Resources.MemoryBytes(); err != nil || b != 0 {
		t.Errorf("MemoryBytes of unset memory = %d, %v", b, err)
	}
	if b, err := spec.Defaults.Resources.MemoryBytes(); err != nil || b != 1<<30 {
		t.Errorf("MemoryBytes(1g) = %d, %v", b, err)
	}
}

func TestMergeKeysAndAliases(t *testing.T) {
	doc := hdr + `  - &base
    name: a
    port: 8081
    env: &env {X: "1"}
  - <<: *base
    name: b
    port: 8082
  - name: c
    port: 8083
    env: *env
`
	spec, err := Parse([]byte(doc), "m.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b, c := spec.Client("b"), spec.Client("c")
	if b == nil || b.Port != 8082 || b.Env["X"] != "1" || c == nil || c.Env["X"] != "1" {
		t.Fatalf("merge/alias not applied: %+v %+v", b, c)
	}
}

// A large fleet sharing settings through one anchor must load: the alias
// budget grows with the document.
func TestLargeFleetWithAnchors(t *testing.T) {
	var sb strings.Builder
	sb.WriteString(hdr)
	sb.WriteString("  - &c {name: c0, port: 1024, env: {A: a, B: b, C: c}, healthCheck: {path: /h, timeout: 9s}}\n")
	for i := 1; i < 10000; i++ {
		fmt.Fprintf(&sb, "  - {<<: *c, name: c%d, port: %d}\n", i, 1024+i)
	}
	spec, err := Parse([]byte(sb.String()), "big.yaml")
	if err != nil {
		t.Fatal(shorten(err.Error()))
	}
	if len(spec.Clients) != 10000 || spec.Clients[9999].Env["C"] != "c" {
		t.Fatalf("clients = %d", len(spec.Clients))
	}
}

func shorten(s string) string {
	if len(s) > 2000 {
		return s[:2000] + "..."
	}
	return s
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "missing.yaml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	big := filepath.Join(dir, "big.yaml")
	data := []byte("# " + strings.Repeat("x", MaxFileSize) + "\n")
	if err := os.WriteFile(big, data, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(big)
	var ds *Diagnostics
	if !errors.As(err, &ds) || !strings.Contains(err.Error(), big+":1:1: file is larger than 4 MiB") {
		t.Errorf("big file: %v", err)
	}
}

func TestDiagnosticsJSON(t *testing.T) {
	_, err := Parse([]byte(hdr+"  - name: a\n    port: 80\n"), "j.yaml")
	var ds *Diagnostics
	if !errors.As(err, &ds) {
		t.Fatal(err)
	}
	b, err := json.Marshal(ds)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"file":"j.yaml","line":6,"column":11,"field":"clients[0].port","message":"must be at least 1024"}]`
	if string(b) != want {
		t.Errorf("JSON = %s\nwant   %s", b, want)
	}
	if got := (Diagnostic{File: "f", Line: 3, Message: "m"}).String(); got != "f:3: m" {
		t.Errorf("no column: %q", got)
	}
}

func TestDuration(t *testing.T) {
	var hc HealthCheck
	if err := yaml.Unmarshal([]byte("timeout: 90s\ninterval: 1h0m0s\n"), &hc); err != nil {
		t.Fatal(err)
	}
	if hc.Timeout.Std() != 90*time.Second || hc.Interval.Std() != time.Hour {
		t.Fatalf("decoded %v %v", hc.Timeout, hc.Interval)
	}
	out, err := yaml.Marshal(hc)
	if err != nil || string(out) != "timeout: 1m30s\ninterval: 1h\n" {
		t.Errorf("YAML = %q, %v", out, err)
	}
	j, err := json.Marshal(hc)
	if err != nil || string(j) != `{"timeout":"1m30s","interval":"1h"}` {
		t.Errorf("JSON = %s, %v", j, err)
	}
	var back HealthCheck
	if err := json.Unmarshal(j, &back); err != nil || back != hc {
		t.Errorf("JSON round trip = %+v, %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"timeout":90}`), &back); err == nil {
		t.Error("a JSON number must not decode as a duration")
	}
	if err := yaml.Unmarshal([]byte("timeout: [1]\n"), &back); err == nil {
		t.Error("a YAML list must not decode as a duration")
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"name", "port", "domain", "displayName", "healthCheck"}
	for in, want := range map[string]string{
		"prot": "port", "nmae": "name", "displayname": "displayName", "DOMAIN": "domain",
		"healthcheck": "healthCheck", "helthCheck": "healthCheck", "xyz": "", "zzzzzz": "",
	} {
		if got := suggest(in, known); got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestGoodFiles loads every file of testdata/fleet/good (cmd/fleetctl's
// validate test reads the same files): each loads, survives a YAML round
// trip, and has exactly the warnings of NAME.warn (none without one).
// go test ./pkg/fleet -run TestGoodFiles -update rewrites the .warn files.
func TestGoodFiles(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(goodDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("good files: %v %v", files, err)
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(strings.TrimSuffix(name, ".yaml"), func(t *testing.T) {
			spec, err := Parse(readGood(t, name), name)
			if err != nil {
				t.Fatal(err)
			}
			roundTrip(t, spec)
			warn := strings.TrimSuffix(path, ".yaml") + ".warn"
			got := ""
			if len(spec.Warnings) > 0 {
				got = spec.Warnings.Error() + "\n"
			}
			if _, err := os.Stat(warn); err == nil || got != "" {
				golden(t, warn, got)
			}
		})
	}
}
