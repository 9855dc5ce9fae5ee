package plan

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/observe"
	"github.com/quantabase/fleetctl/pkg/resource"
)

// currentSite is what the nginx adapter observes for a file it wrote for site.
func currentSite(site resource.Site) observe.SiteFile {
	return observe.SiteFile{Name: resource.SiteFileName(site.Client), Managed: true, Fleet: site.Fleet,
		Client: site.Client, Format: resource.SiteFormat, Hash: "h-" + site.Client, Actual: "h-" + site.Client, Site: &site}
}

// convergedSites is the sites directory after a successful apply of spec.
func convergedSites(spec *fleet.Spec) *observe.SitesState {
	st := &observe.SitesState{Dir: spec.Proxy.SitesDir}
	for i := range spec.Clients {
		if c := &spec.Clients[i]; c.Domain != "" {
			st.Files = append(st.Files, currentSite(DesiredSite(spec, c)))
		}
	}
	return st
}

func sortFiles(st *observe.SitesState) {
	slices.SortFunc(st.Files, func(a, b observe.SiteFile) int { return strings.Compare(a.Name, b.Name) })
}

// TestProxyGolden plans the proxy cases and compares text and JSON with
// testdata/proxy/<case>.txt and .json (go test ./pkg/plan -update rewrites them).
func TestProxyGolden(t *testing.T) {
	tests := []struct {
		name, file string
		options    Options
		// state returns the observed state (nil: converged containers and sites).
		tweak func(spec *fleet.Spec, st *observe.State)
	}{
		{name: "create", file: "fleet.yaml", tweak: func(spec *fleet.Spec, st *observe.State) {
			st.Containers, st.Volumes = nil, nil
			st.Sites.Files = []observe.SiteFile{{Name: "default"}}
		}},
		{name: "create-plain", file: "fleet-plain.yaml", tweak: func(spec *fleet.Spec, st *observe.State) {
			st.Containers, st.Volumes = nil, nil
			st.Sites.Files = nil
		}},
		{name: "converged", file: "fleet.yaml"},
		{name: "drift", file: "fleet.yaml", tweak: func(spec *fleet.Spec, st *observe.State) {
			acme := st.Sites.File("acme-corp.conf")
			acme.Actual = "edited-by-hand"
			beta := st.Sites.File("beta-client.conf")
			old := *beta.Site
			old.Upstream, old.ClientMaxBodySize = "127.0.0.1:9082", "10m"
			beta.Site = &old
			gone := currentSite(resource.Site{Fleet: "golden", Client: "gone", Domain: "gone.example.com"})
			other := currentSite(resource.Site{Fleet: "other-fleet", Client: "x", Domain: "x.example.com"})
			st.Sites.Files = append(st.Sites.Files, gone, other, observe.SiteFile{Name: "default"})
			sortFiles(st.Sites)
		}},
		{name: "template-changed", file: "fleet.yaml", tweak: func(spec *fleet.Spec, st *observe.State) {
			st.Sites.File("acme-corp.conf").Format = resource.SiteFormat - 1
		}},
		{name: "conflict-unmanaged", file: "fleet.yaml", tweak: func(spec *fleet.Spec, st *observe.State) {
			st.Containers, st.Volumes = nil, nil
			st.Sites.Files = []observe.SiteFile{{Name: "acme-corp.conf"}}
		}},
		{name: "conflict-container", file: "fleet.yaml", tweak: func(spec *fleet.Spec, st *observe.State) {
			st.Containers, st.Volumes, st.Sites.Files = nil, nil, nil
			st.Containers = []observe.Container{{ID: "stranger", Name: "openwebui-acme-corp", State: "running"}}
		}},
		{name: "pending-reload", file: "fleet.yaml", tweak: func(spec *fleet.Spec, st *observe.State) {
			st.Sites.Pending = true // an apply died (or nginx failed to reload) after writing
		}},
		{name: "missing-certificate", file: "fleet.yaml", tweak: func(spec *fleet.Spec, st *observe.State) {
			// beta's certificate is gone (certbot removed it): only beta is
			// blocked; acme's drifted file is still repaired.
			beta := DesiredSite(spec, spec.Client("beta-client"))
			st.Sites.Missing = []string{beta.Certificate}
			st.Sites.File("acme-corp.conf").Actual = "hand-edited"
		}},
		{name: "targeted", file: "fleet.yaml", options: Options{Targets: []string{"beta-client"}}, tweak: func(spec *fleet.Spec, st *observe.State) {
			st.Sites.Files = append(st.Sites.Files[:0:0], currentSite(resource.Site{Fleet: "golden", Client: "gone", Domain: "gone.example.com"}))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, secrets := loadGoldenSpec(t, filepath.Join("testdata", "proxy", tt.file))
			st := appliedState(spec, secrets)
			st.Sites = convergedSites(spec)
			if tt.tweak != nil {
				tt.tweak(spec, st)
			}
			p := Build(spec, secrets, st, tt.options)
			var text, js bytes.Buffer
			if err := p.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			if err := p.WriteJSON(&js); err != nil {
				t.Fatal(err)
			}
			for _, s := range append([]string{goldenSeed}, values(goldenEnv)...) {
				if strings.Contains(text.String()+js.String(), s) {
					t.Fatal("plan output contains a secret value")
				}
			}
			golden(t, filepath.Join("testdata", "proxy", tt.name+".txt"), text.Bytes())
			golden(t, filepath.Join("testdata", "proxy", tt.name+".json"), js.Bytes())
		})
	}
}

// TestSitesDependOnContainers: a site goes live once its container is up,
// and a saved plan goes stale when a site file changes.
func TestSitesDependOnContainers(t *testing.T) {
	spec, secrets := loadGoldenSpec(t, filepath.Join("testdata", "proxy", "fleet.yaml"))
	st := &observe.State{Fleet: spec.Fleet, Images: map[string]string{spec.Clients[0].Image: "sha256:x"},
		Sites: &observe.SitesState{Dir: spec.Proxy.SitesDir}}
	p := Build(spec, secrets, st, Options{})
	a := p.Action(SitesActionID)
	if a == nil || !slices.Equal(a.DependsOn, []string{"container.acme-corp", "container.beta-client"}) {
		t.Fatalf("sites action %+v", a)
	}
	if p.Summary.Add != 8 { // 3 volumes, 3 containers, 2 sites
		t.Errorf("summary %+v", p.Summary)
	}
	before := p.Fingerprint
	st.Sites.Files = []observe.SiteFile{{Name: "new.conf"}}
	if Build(spec, secrets, st, Options{}).Fingerprint == before {
		t.Error("fingerprint ignores the sites directory")
	}
}

// TestWebUIURLFollowsProxyTLS: WEBUI_URL and GOOGLE_REDIRECT_URI use http
// when the proxy has tls: none, https otherwise.
func TestWebUIURLFollowsProxyTLS(t *testing.T) {
	for file, want := range map[string]string{"fleet.yaml": "https://acme.example.com", "fleet-plain.yaml": "http://acme.example.com:8080"} {
		spec, secrets := loadGoldenSpec(t, filepath.Join("testdata", "proxy", file))
		env := resource.EnvMap(renderClient(spec, &spec.Clients[0], secrets).Container.Env)
		if env["WEBUI_URL"].Value != want || env["GOOGLE_REDIRECT_URI"].Value != want+"/oauth/google/callback" {
			t.Errorf("%s: WEBUI_URL %q, GOOGLE_REDIRECT_URI %q", file, env["WEBUI_URL"].Value, env["GOOGLE_REDIRECT_URI"].Value)
		}
	}
}
