package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// Issue 15, status without secrets: with Docker access alone, status shows
// every client's state, health, port, domain, image and database, and marks
// drift unknown only for the clients whose config needs a missing secret;
// db show needs no secret for a SQLite client. Verbs that change anything
// still need every secret.
func TestStatusWithoutSecrets(t *testing.T) {
	f := newTestFleet(t, 3)
	const secret = "status-ONLY-secret-5d1e"
	cs := f.clients()
	cs[1].extra = "    env:\n      API_KEY: ${env:IT_STATUS_SECRET}\n"
	pgClient := cs[2]
	pgClient.extra = "    database:\n      backend: postgres\n      url: ${env:IT_STATUS_DB_URL}\n"
	f.write(cs[:2], "")
	t.Setenv("IT_STATUS_SECRET", secret)
	f.mustApply()
	os.Unsetenv("IT_STATUS_SECRET")
	f.write(append(cs[:2:2], pgClient), "") // c2 is never applied: its database does not exist
	dockerCLI(t, "stop", f.ctr("c0"))

	r := f.run("status", "--json")
	if r.code != 0 || strings.Contains(r.all(), secret) {
		t.Fatalf("status: exit %d\n%s", r.code, r.all())
	}
	for _, want := range []string{"${env:IT_STATUS_SECRET}: environment variable IT_STATUS_SECRET is not set",
		"what needs them shows as unknown", "export IT_STATUS_DB_URL=... IT_STATUS_SECRET=..."} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("status warning lacks %q:\n%s", want, r.stderr)
		}
	}
	var got struct {
		Clients []struct {
			Client, State, Health, Domain, Image, Database, Drift string
			Port                                                  int
		}
		Orphans []any
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if len(got.Clients) != 3 || len(got.Orphans) != 0 {
		t.Fatalf("status: %+v", got)
	}
	// state and health as pkg/status words them (prefixes); drift exactly.
	want := []struct{ state, health, db, drift string }{
		{"exited", "unhealthy", "sqlite", "start-container: container is exited, desired running"},
		{"running", "healthy", "sqlite", "unknown: needs secrets (${env:IT_STATUS_SECRET})"},
		{"absent", "-", "postgres", "unknown: needs secrets (${env:IT_STATUS_DB_URL})"},
	}
	for i, w := range want {
		g := got.Clients[i]
		if g.Client != cs[i].name || !strings.HasPrefix(g.State, w.state) || !strings.HasPrefix(g.Health, w.health) || g.Database != w.db || g.Drift != w.drift ||
			g.Port != cs[i].port || g.Domain != cs[i].name+".example.com" || g.Image != standinImage {
			t.Errorf("client %d: %+v, want %+v", i, g, w)
		}
	}
	text := f.run("status")
	if text.code != 0 || !strings.Contains(text.stdout, "unknown: needs secrets (${env:IT_STATUS_SECRET})") {
		t.Errorf("status text: exit %d\n%s", text.code, text.all())
	}

	// db show: a SQLite client needs no secret; a PostgreSQL one names what it needs.
	if d := f.run("db", "show", "c1"); d.code != 0 || !strings.Contains(d.stdout, "backend:    sqlite") || d.stderr != "" {
		t.Errorf("db show c1: exit %d\n%s", d.code, d.all())
	}
	d := f.run("db", "show", "c2", "--json")
	var show dbShow
	if d.code != 0 || json.Unmarshal([]byte(d.stdout), &show) != nil || show.Postgres != nil ||
		len(show.NeedsSecrets) != 1 || show.NeedsSecrets[0] != "${env:IT_STATUS_DB_URL}" {
		t.Errorf("db show c2: exit %d\n%s", d.code, d.all())
	}
	if d := f.run("db", "show", "c2"); !strings.Contains(d.stdout, "url:        unknown: needs secrets (${env:IT_STATUS_DB_URL})") {
		t.Errorf("db show c2 text:\n%s", d.all())
	}

	// What changes anything still needs every secret, and changes nothing without.
	for _, verb := range [][]string{{"plan"}, {"apply", "--auto-approve"}} {
		if p := f.run(verb...); p.code != 1 || !strings.Contains(p.stderr, "${env:IT_STATUS_SECRET}") {
			t.Errorf("%s without the secret: exit %d\n%s", verb[0], p.code, p.all())
		}
	}
	if st := dockerCLI(t, "inspect", "--format", "{{.State.Status}}", f.ctr("c0")); st != "exited" {
		t.Errorf("c0 is %s: something ran without its secrets", st)
	}
}
