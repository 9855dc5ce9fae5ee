package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestOAuthURLs runs `fleetctl oauth urls` in-process: no Docker and no
// secret is needed to list what to register with Google.
func TestOAuthURLs(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "fleet.yaml")
	spec := "apiVersion: fleetctl/v1\nfleet: o\nsecretKeySeed: ${env:UNSET_SEED}\nclients:\n" +
		"  - name: a\n    port: 8081\n    domain: a.example.com\n  - name: b\n    port: 8082\n" +
		"proxy:\n  sitesDir: /etc/nginx/conf.d\n  tls: none\n"
	if err := os.WriteFile(file, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	env := &cliEnv{stdin: strings.NewReader(""), stdout: &out, stderr: &errb}
	if code := dispatch(context.Background(), env, []string{"oauth", "urls", "-f", file, "--json"}); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var got oauthURLs
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	wantA := []string{"http://localhost:8081/oauth/google/callback", "http://127.0.0.1:8081/oauth/google/callback", "http://a.example.com/oauth/google/callback"}
	if len(got.Clients) != 2 || !slices.Equal(got.Clients[0].RedirectURIs, wantA) || got.Clients[0].GoogleOAuth {
		t.Errorf("client a: %+v", got.Clients)
	}
	if want := []string{"http://localhost:8082", "http://127.0.0.1:8082"}; !slices.Equal(got.Clients[1].Origins, want) {
		t.Errorf("client b (no domain) origins %v", got.Clients[1].Origins)
	}
	if len(got.Origins) != 5 || len(got.RedirectURIs) != 5 {
		t.Errorf("union: %v %v", got.Origins, got.RedirectURIs)
	}

	out.Reset()
	if code := dispatch(context.Background(), env, []string{"oauth", "urls", "-f", file}); code != exitOK ||
		!strings.Contains(out.String(), "  Authorized redirect URIs:\n    http://localhost:8081/oauth/google/callback\n") {
		t.Errorf("text output (exit %d):\n%s", code, out.String())
	}
	if code := dispatch(context.Background(), env, []string{"oauth"}); code != exitError {
		t.Errorf("oauth without a subcommand: exit %d", code)
	}
}
