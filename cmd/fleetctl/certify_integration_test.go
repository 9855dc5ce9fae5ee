package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quantabase/fleetctl/pkg/certify"
	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/replicate"
)

// fleetctl certify against two node containers started as
// TestSyncNodesFailoverAndFencing starts them, connected as the provisioned
// role, with a certification canary beside the client's database and a 3s
// shape cache: every check passes (the conflict and cache drills run through
// the nodes) and the JUnit file parses; the client's rows are untouched; a
// wrong admin token in fleet.yaml fails the admin-token check and the drills
// that need the admin API (and the run exits 1).
func TestCertifySyncDeployment(t *testing.T) {
	requireDocker(t)
	srv, db := startPG(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	image := selfImage(t, ctx)
	fleetName := "it-certify-" + randHex(4)
	token := "certify-token-" + randHex(8)

	prov := replicate.Provision{Role: fleet.SyncRoleName(fleetName, ""), Password: "pw" + randHex(8), Marker: randHex(8),
		MetaSchema: fleet.SyncMetaSchema, Clients: []string{"acme"}}
	if err := prov.Apply(ctx, srv.URL(db)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Psql(context.Background(), "postgres", "DROP ROLE IF EXISTS "+prov.Role) })

	dir := t.TempDir()
	os.Chmod(dir, 0o777)
	app, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "webui.db")+"?_pragma=journal_mode(wal)&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	if _, err := app.Exec(`CREATE TABLE chat (id TEXT PRIMARY KEY, title TEXT, updated_at BIGINT)`); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if _, err := app.Exec(`INSERT INTO chat VALUES (?, 'x', ?)`, fmt.Sprint("r", i), time.Now().UnixNano()); err != nil {
			t.Fatal(err)
		}
	}
	roleURL, err := url.Parse(srv.BridgeURL(db))
	if err != nil {
		t.Fatal(err)
	}
	roleURL.User = url.UserPassword(prov.Role, prov.Password)
	nodes := startSyncNodesWith(t, ctx, image, fleetName, roleURL.String(), dir, []string{"-e", envSyncToken + "=" + token},
		[]string{"--canary", "/data/canary.db", "--cache-ttl", "3s"})
	waitRows(t, ctx, srv.Psql, db, func() int64 { return 20 })

	clientPort := freePorts(t, 1)[0]
	file := filepath.Join(t.TempDir(), "fleet.yaml")
	writeSpec := func(nodes []syncNodeContainer) {
		spec := fmt.Sprintf("apiVersion: fleetctl/v1\nfleet: %s\nsecretKeySeed: ${env:IT_CERTIFY_SEED}\n"+
			"clients:\n  - name: acme\n    port: %d\n"+
			"sync:\n  target:\n    url: ${env:IT_CERTIFY_URL}\n  lease: 3s\n  renew: 500ms\n  adminToken: ${env:IT_CERTIFY_TOKEN}\n  nodes:\n",
			fleetName, clientPort)
		for _, n := range nodes {
			spec += fmt.Sprintf("    - {name: %s, port: %d}\n", n.name, n.port)
		}
		if err := os.WriteFile(file, []byte(spec), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeSpec(nodes)
	t.Setenv("IT_CERTIFY_SEED", "seed-"+randHex(8))
	t.Setenv("IT_CERTIFY_URL", srv.URL(db))
	t.Setenv("IT_CERTIFY_TOKEN", token)

	junit := filepath.Join(t.TempDir(), "certify.xml")
	r := runCLI(t, "certify", "-f", file, "--json", "--junit", junit)
	var rep certify.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("certify --json: %v\nstdout: %s\nstderr: %s", err, r.stdout, r.stderr)
	}
	for _, c := range rep.Checks {
		t.Logf("%v %s/%s: %s", c.OK, c.Class, c.Name, c.Figure)
		if !c.OK {
			t.Errorf("%s/%s failed: %s %q", c.Class, c.Name, c.Figure, c.Detail)
		}
	}
	if r.code != exitOK || !rep.OK || len(rep.Checks) < 11 {
		t.Errorf("certify: exit %d, ok %v, %d checks; stderr: %s", r.code, rep.OK, len(rep.Checks), r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, token) {
		t.Error("the admin token is in certify's output")
	}
	// The drills ran on the canary, through the nodes: the client's rows are
	// as the application wrote them, and the conflicts are the canary's.
	if got, err := srv.Psql(ctx, db, `SELECT count(*) FILTER (WHERE title = 'x') || '/' || count(*) FROM client_acme.chat`); err != nil || got != "20/20" {
		t.Errorf("client_acme.chat after certify: %q %v", got, err)
	}
	// The canary is no client: /health lists it apart, sync status too.
	var h replicate.Health
	if code := getJSON(t, nodes[0].port, "/health", &h); code != 200 || len(h.Clients) != 1 || h.Clients[0].Name != "acme" ||
		h.Canary == nil || h.Canary.Name != replicate.CanaryClient || h.CacheTTLSeconds != 3 {
		t.Errorf("/health of %s: %d %+v", nodes[0].name, code, h)
	}
	if st := runCLI(t, "sync", "status", "-f", file); st.code != 0 || strings.Contains(st.stdout, "\n_canary") ||
		!strings.Contains(st.stdout, "Certification canary") {
		t.Errorf("sync status (exit %d):\n%s%s", st.code, st.stdout, st.stderr)
	}
	if got, err := srv.Psql(ctx, db, `SELECT string_agg(DISTINCT client || ':' || node_id, ',') FROM sync_metadata.conflicts`); err != nil ||
		(got != "_canary:"+nodes[0].name && got != "_canary:"+nodes[1].name) {
		t.Errorf("conflicts recorded by %q (%v), want the canary's, by one node", got, err)
	}
	raw, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var suites struct {
		Suites []struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
			Cases    []struct {
				Class   string    `xml:"classname,attr"`
				Name    string    `xml:"name,attr"`
				Time    float64   `xml:"time,attr"`
				Failure *struct{} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(raw, &suites); err != nil {
		t.Fatalf("junit: %v\n%s", err, raw)
	}
	if len(suites.Suites) != 1 || suites.Suites[0].Tests != len(rep.Checks) || suites.Suites[0].Failures != 0 ||
		len(suites.Suites[0].Cases) != len(rep.Checks) {
		t.Errorf("junit: %s", raw)
	}
	if t.Failed() {
		logs(t, names(nodes))
		return
	}

	// A wrong admin token in fleet.yaml: the admin-token check fails.
	t.Setenv("IT_CERTIFY_TOKEN", "wrong-"+randHex(8))
	r = runCLI(t, "certify", "-f", file, "--json")
	rep = certify.Report{}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("certify --json: %v\nstdout: %s\nstderr: %s", err, r.stdout, r.stderr)
	}
	failed := map[string]bool{}
	for _, c := range rep.Checks {
		if !c.OK {
			failed[c.Class+"/"+c.Name] = true
		}
	}
	if r.code != exitError || rep.OK || !failed["security/admin-token"] || !failed["conflicts/manual"] || !failed["state/cache-expiry"] {
		t.Errorf("with a wrong token: exit %d, ok %v, failed %v", r.code, rep.OK, failed)
	}

	// Nodes that forget which source version a kept target row won against
	// (a test hook of bin/fleetctl-test; the fault this drill found): the
	// strategies that keep the target fail, the others pass.
	t.Setenv("IT_CERTIFY_TOKEN", token)
	for _, n := range nodes {
		exec.Command("docker", "rm", "-f", n.name).Run()
	}
	nodes = startSyncNodesWith(t, ctx, image, fleetName+"-forget", roleURL.String(), dir,
		[]string{"-e", envSyncToken + "=" + token, "-e", "FLEETCTL_TEST_SYNC_FORGET_KEPT=1"},
		[]string{"--canary", "/data/canary.db", "--cache-ttl", "3s"})
	writeSpec(nodes)
	r = runCLI(t, "certify", "-f", file, "--json")
	rep = certify.Report{}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("certify --json: %v\nstdout: %s\nstderr: %s", err, r.stdout, r.stderr)
	}
	failed = map[string]bool{}
	for _, c := range rep.Checks {
		if !c.OK {
			failed[c.Class+"/"+c.Name] = true
		}
	}
	if r.code != exitError || !failed["conflicts/target_wins"] || !failed["conflicts/oldest_wins"] || len(failed) != 2 {
		t.Errorf("nodes that forget kept rows: exit %d, failed %v (want conflicts/target_wins and conflicts/oldest_wins); stdout:\n%s", r.code, failed, r.stdout)
	}
}

type syncNodeContainer struct {
	name string
	port int // published on 127.0.0.1
}

// startSyncNodes runs two node containers (the sync integration tests share it)
// with a short lease and fast passes, replicating dir/webui.db as client acme,
// each published on a fixed free port, and waits until both answer /health.
func startSyncNodes(t *testing.T, ctx context.Context, image, prefix, url, dir string, extra ...string) []syncNodeContainer {
	t.Helper()
	return startSyncNodesWith(t, ctx, image, prefix, url, dir, extra, nil)
}

// startSyncNodesWith is startSyncNodes with docker run arguments and
// further sync-node arguments.
func startSyncNodesWith(t *testing.T, ctx context.Context, image, prefix, url, dir string, extra, nodeArgs []string) []syncNodeContainer {
	t.Helper()
	var nodes []syncNodeContainer
	ports := freePorts(t, 2) // fixed: a restarted container keeps its port
	for i, suffix := range []string{"-node-a", "-node-b"} {
		n, port := prefix+suffix, ports[i]
		t.Cleanup(func() { exec.Command("docker", "rm", "-f", n).Run() })
		args := append([]string{"run", "-d", "--name", n, "-e", envSyncURL + "=" + url}, extra...)
		args = append(args, "-v", dir+":/data", "-p", fmt.Sprintf("127.0.0.1:%d:9443", port), image,
			"sync-node", "--node-id", n, "--listen", "0.0.0.0:9443", "--client", "acme=/data/webui.db",
			"--lease", "3s", "--renew", "500ms", "--interval", "200ms", "--full-interval", "2s")
		args = append(args, nodeArgs...)
		if out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput(); err != nil {
			t.Fatalf("docker run %s: %v: %s", n, err, out)
		}
		nodes = append(nodes, syncNodeContainer{n, port})
	}
	for _, n := range nodes { // both answer before the test goes on
		for {
			resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/health", n.port))
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			if ctx.Err() != nil {
				logs(t, names(nodes))
				t.Fatalf("%s never answered /health", n.name)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nodes
}

func names(ns []syncNodeContainer) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.name
	}
	return out
}

func TestCertifyNeedsASyncSection(t *testing.T) {
	file := writeSpec(t, t.TempDir())
	r := runCLI(t, "certify", "-f", file)
	if r.code != exitError || !strings.Contains(r.stderr, "has no sync: section") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}
