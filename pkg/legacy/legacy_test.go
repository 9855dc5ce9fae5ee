package legacy

import (
	"strings"
	"testing"

	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/observe"
)

func legacyCtr(name string, port int, env ...string) observe.ContainerDetail {
	return observe.ContainerDetail{
		ID: "id-" + name, Name: "openwebui-" + name, Image: "ghcr.io/imagicrafter/open-webui:main", State: "running",
		Env:           append([]string{"WEBUI_NAME=QuantaBase - " + name, "GOOGLE_REDIRECT_URI=https://" + name + ".example.com/oauth/google/callback"}, env...),
		Ports:         map[string][]observe.PortBinding{"8080/tcp": {{HostIP: "", HostPort: port}}},
		Mounts:        []observe.DetailMount{{Type: "volume", Name: "openwebui-" + name + "-data", Destination: fleet.DataDir}},
		RestartPolicy: "unless-stopped",
	}
}

func TestGenerate(t *testing.T) {
	oauth := []string{"GOOGLE_CLIENT_ID=id.apps", "GOOGLE_CLIENT_SECRET=s3cret-oauth", "ENABLE_OAUTH_SIGNUP=true", "OAUTH_ALLOWED_DOMAINS=martins.net"}
	a := legacyCtr("acme", 8081, append(oauth, "OPENAI_API_BASE_URL=https://api.example.com", "OPENAI_API_KEY=sk-s3cret")...)
	b := legacyCtr("beta", 8082, append(oauth, "DATABASE_URL=postgresql://u:pg-s3cret@db/beta", "PORT=8080")...)
	b.State, b.MemoryBytes = "exited", 512<<20
	bad := legacyCtr("gamma", 8083, "DATABASE_URL=sqlite:////elsewhere/x.db")
	managed := legacyCtr("delta", 8084)
	managed.Labels = map[string]string{observe.LabelManagedBy: "fleetctl"}
	bind := legacyCtr("eps", 8085)
	bind.Mounts[0] = observe.DetailMount{Type: "bind", Source: "/srv/x", Destination: fleet.DataDir}

	res := Generate(Input{Fleet: "quantabase", Containers: []observe.ContainerDetail{a, b, bad, managed, bind},
		Keys: map[string]string{"openwebui-acme": "key-acme\n"}, NewSeed: "seed"})
	y := string(res.YAML)
	for _, s := range []string{"s3cret-oauth", "sk-s3cret", "pg-s3cret"} {
		if strings.Contains(y, s) || strings.Contains(res.Example, s) {
			t.Fatalf("secret %q in the output:\n%s", s, y)
		}
	}
	spec, err := fleet.Parse(res.YAML, "imported.yaml")
	if err != nil {
		t.Fatalf("%v\n%s", err, y)
	}
	if len(spec.Clients) != 2 || len(res.Skipped) != 3 {
		t.Fatalf("clients %v skipped %v", res.Clients, res.Skipped)
	}
	ac, bc := spec.Client("acme"), spec.Client("beta")
	if ac.Domain != "acme.example.com" || ac.DisplayName != "QuantaBase - acme" || ac.BindAddress != "0.0.0.0" ||
		ac.Env["OPENAI_API_BASE_URL"] != "https://api.example.com" || ac.Env["OPENAI_API_KEY"] != "${env:ACME_OPENAI_API_KEY}" ||
		string(ac.SecretKey) != "${file:./secrets/acme.webui_secret_key}" || ac.OAuth.Google.ClientID != "id.apps" {
		t.Fatalf("acme: %+v\n%s", ac, y)
	}
	if bc.State != fleet.StateStopped || bc.Database.Backend != fleet.BackendPostgres || string(bc.Database.URL) != "${env:BETA_DATABASE_URL}" ||
		bc.Env["PORT"] != "" || bc.Resources == nil || !bc.SecretKey.IsZero() {
		t.Fatalf("beta: %+v\n%s", bc, y)
	}
	if res.Files["secrets/acme.webui_secret_key"] != "key-acme\n" || res.Files[SeedFile] != "seed\n" {
		t.Fatalf("files %v", res.Files)
	}
	for _, env := range []string{"ACME_OPENAI_API_KEY=", "BETA_DATABASE_URL=", "GOOGLE_CLIENT_SECRET="} {
		if !strings.Contains(res.Example, "\n"+env+"\n") {
			t.Fatalf("example misses %s:\n%s", env, res.Example)
		}
	}
}
