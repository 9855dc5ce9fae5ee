package fleet

import (
	"reflect"
	"strings"
	"testing"
)

func TestResolveAvailableAndUnresolved(t *testing.T) {
	spec, err := Parse([]byte(`apiVersion: fleetctl/v1
fleet: ro
secretKeySeed: ${file:./seed}
clients:
  - name: plain
    port: 8081
  - name: oauth
    port: 8082
    oauth:
      google:
        clientID: x.apps.googleusercontent.com
        clientSecret: ${env:RO_OAUTH}
  - name: pinned
    port: 8083
    secretKey: ${env:RO_PINNED}
    env:
      API_KEY: ${env:RO_API}
  - name: pg
    port: 8084
    database:
      backend: postgres
      url: ${env:RO_DB}
`), "fleet.yaml")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"RO_PINNED": "pinned-key", "RO_DB": "postgres://u:p@h/d"}
	r := Resolver{
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		ReadFile:  func(string) ([]byte, error) { return []byte("seed-value"), nil },
	}
	secrets, missing := r.ResolveAvailable(spec)
	if missing == nil || !reflect.DeepEqual(missing.Refs, []SecretRef{"${env:RO_API}", "${env:RO_OAUTH}"}) ||
		!strings.Contains(missing.Error(), "${env:RO_OAUTH}: environment variable RO_OAUTH is not set") {
		t.Fatalf("missing = %+v", missing)
	}
	if secrets.Value("${file:./seed}") != "seed-value" || secrets.Value("${env:RO_DB}") == "" {
		t.Errorf("the resolvable secrets were not kept: %v refs", len(secrets))
	}
	got := spec.Unresolved(secrets)
	want := map[string][]SecretRef{"oauth": {"${env:RO_OAUTH}"}, "pinned": {"${env:RO_API}"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Unresolved = %v, want %v", got, want)
	}
	if refs := spec.ClientRefs(spec.Client("pinned")); !reflect.DeepEqual(refs, []SecretRef{"${env:RO_API}", "${env:RO_PINNED}"}) {
		t.Errorf("a pinned secretKey needs no seed: %v", refs)
	}
	if refs := spec.Client("pg").DatabaseRefs(); !reflect.DeepEqual(refs, []SecretRef{"${env:RO_DB}"}) || len(spec.Client("plain").DatabaseRefs()) != 0 {
		t.Errorf("DatabaseRefs = %v", refs)
	}
	if _, err := r.Resolve(spec); err == nil {
		t.Error("Resolve accepted missing secrets")
	}
}
