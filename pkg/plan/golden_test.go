package plan

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/observe"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// Fixed secret values of the golden cases (never appear in any golden file).
var goldenEnv = map[string]string{"GOOGLE_CLIENT_SECRET": "golden-oauth-secret", "DB_URL": "postgres://u:golden-db-pass@db/x", "OPENAI_KEY": "golden-openai-key", "DB_URL_2": "postgres://u2:golden-db-pass-2@db/y",
	"SYNC_URL": "postgres://owner:golden-sync-owner-pass@pg.example:5432/app", "SYNC_TOKEN": "golden-sync-admin-token"}

const goldenSeed = "golden-seed-0123456789abcdef"

// observedCase describes the observed state of a golden case on top of
// before.yaml: every client of before.yaml has its volume and a running
// container with the labels apply would have given it; then the tweaks apply.
type observedCase struct {
	Remove     []string            `json:"remove"`     // container names gone
	State      map[string]string   `json:"state"`      // container name -> state
	Rename     map[string]string   `json:"rename"`     // container name -> new name
	Containers []observe.Container `json:"containers"` // extra containers
	Volumes    []observe.Volume    `json:"volumes"`    // extra volumes
	NoImages   bool                `json:"noImages"`   // no image present locally
	ImageIDs   map[string]string   `json:"imageIDs"`   // container name -> image ID it runs
	Images     map[string]string   `json:"images"`     // local image ref -> ID (overrides)
	Options    Options             `json:"options"`
	// What inspect and the readiness probe told, by container name.
	Runtime map[string]*observe.Runtime `json:"runtime"`
	Probe   map[string]*observe.Probe   `json:"probe"`
	// Verify gives every container of before.yaml the run config it was
	// created with; RunEnv then changes its env (null removes a variable).
	Verify     bool                          `json:"verify"`
	RunEnv     map[string]map[string]*string `json:"runEnv"`
	BoundPorts []observe.PortBinding         `json:"boundPorts"`
	// SelfImage is fleetctl's own image (the sync nodes').
	SelfImage string `json:"selfImage"`
}

// goldenSelfImage is fleetctl's own image in the golden cases with sync.
const goldenSelfImage = "fleetctl/fleetctl:golden-0123456789ab"

func loadGoldenSpec(t *testing.T, path string) (*fleet.Spec, fleet.Secrets) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := fleet.Parse(data, filepath.Base(path))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	r := fleet.Resolver{
		LookupEnv: func(k string) (string, bool) { v, ok := goldenEnv[k]; return v, ok },
		ReadFile:  func(string) ([]byte, error) { return []byte(goldenSeed), nil },
	}
	secrets, err := r.Resolve(spec)
	if err != nil {
		t.Fatal(err)
	}
	return spec, secrets
}

// appliedState is what the host looks like after applying spec successfully.
func appliedState(spec *fleet.Spec, secrets fleet.Secrets) *observe.State {
	st := &observe.State{Fleet: spec.Fleet, Images: map[string]string{}}
	for i := range spec.Clients {
		c := &spec.Clients[i]
		d := renderClient(spec, c, secrets)
		state := "running"
		if c.State == fleet.StateStopped {
			state = "exited"
		}
		st.Containers = append(st.Containers, observe.Container{
			ID: "id-" + c.Name + "-000000000000", Name: d.Container.Name, Image: c.Image, State: state,
			Labels: d.Container.Labels, Ports: []observe.PortBinding{{HostIP: c.BindAddress, HostPort: c.Port}},
		})
		st.Volumes = append(st.Volumes, observe.Volume{Name: d.Volume.Name, Labels: d.Volume.Labels})
		st.Images[c.Image] = "sha256:" + c.Image
	}
	if spec.Sync != nil {
		st.SelfImage = goldenSelfImage
		prov := syncProvision(spec, secrets)
		for _, n := range spec.Sync.NodeList() {
			ctr, _, _ := renderSyncNode(spec, secrets, n, goldenSelfImage, prov)
			st.Containers = append(st.Containers, observe.Container{
				ID: "id-" + n.Name + "-000000000000", Name: n.Name, Image: goldenSelfImage, State: "running",
				Labels: ctr.Labels, Ports: []observe.PortBinding{{HostIP: ctr.BindAddress, HostPort: n.Port}},
			})
		}
	}
	return st
}

func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/plan/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			spec, secrets := loadGoldenSpec(t, filepath.Join(dir, "fleet.yaml"))
			st := &observe.State{Fleet: spec.Fleet, Images: map[string]string{}}
			if _, err := os.Stat(filepath.Join(dir, "before.yaml")); err == nil {
				before, bs := loadGoldenSpec(t, filepath.Join(dir, "before.yaml"))
				st = appliedState(before, bs)
			}
			var oc observedCase
			if b, err := os.ReadFile(filepath.Join(dir, "observed.json")); err == nil {
				if err := json.Unmarshal(b, &oc); err != nil {
					t.Fatalf("observed.json: %v", err)
				}
			}
			tweak(st, spec, &oc)
			if oc.Verify {
				before, bs := loadGoldenSpec(t, filepath.Join(dir, "before.yaml"))
				verified(st, before, bs, &oc)
			}
			p := Build(spec, secrets, st, oc.Options)

			var text, js bytes.Buffer
			if err := p.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			if err := p.WriteJSON(&js); err != nil {
				t.Fatal(err)
			}
			for _, out := range []string{text.String(), js.String()} {
				for _, s := range append([]string{goldenSeed}, values(goldenEnv)...) {
					if bytes.Contains([]byte(out), []byte(s)) {
						t.Fatalf("plan output contains a secret value")
					}
				}
			}
			golden(t, filepath.Join(dir, "want.txt"), text.Bytes())
			golden(t, filepath.Join(dir, "want.json"), js.Bytes())
			roundTrip(t, p, text.String(), js.String())
		})
	}
}

func tweak(st *observe.State, spec *fleet.Spec, oc *observedCase) {
	gone := map[string]bool{}
	for _, n := range oc.Remove {
		gone[n] = true
	}
	var kept []observe.Container
	for _, c := range st.Containers {
		if gone[c.Name] {
			continue
		}
		if s, ok := oc.State[c.Name]; ok {
			c.State = s
		}
		if id, ok := oc.ImageIDs[c.Name]; ok {
			c.ImageID = id
		}
		if rt, ok := oc.Runtime[c.Name]; ok {
			c.Runtime = rt
		}
		if pr, ok := oc.Probe[c.Name]; ok {
			c.Probe = pr
		}
		if n, ok := oc.Rename[c.Name]; ok {
			c.Name = n
		}
		kept = append(kept, c)
	}
	st.Containers = append(kept, oc.Containers...)
	st.Volumes = append(st.Volumes, oc.Volumes...)
	st.BoundPorts = oc.BoundPorts
	if oc.SelfImage != "" {
		st.SelfImage = oc.SelfImage
	}
	if oc.NoImages {
		st.Images = map[string]string{}
	} else {
		for _, c := range spec.Clients {
			st.Images[c.Image] = "sha256:" + c.Image
		}
	}
	for ref, id := range oc.Images {
		st.Images[ref] = id
	}
}

// verified gives each container of spec the run config apply gave it, with
// the case's env changes.
func verified(st *observe.State, spec *fleet.Spec, secrets fleet.Secrets, oc *observedCase) {
	for i := range spec.Clients {
		d := renderClient(spec, &spec.Clients[i], secrets)
		for j := range st.Containers {
			ctr := &st.Containers[j]
			if ctr.Name != d.Container.Name {
				continue
			}
			rc := &observe.RunConfig{Image: d.Container.Image, Env: map[string]string{}, Restart: d.Container.RestartPolicy,
				Ports:    []observe.PortMapping{{HostIP: d.Container.BindAddress, HostPort: d.Container.HostPort, ContainerPort: d.Container.ContainerPort}},
				Mounts:   []observe.Mount{{Volume: d.Container.Volume, Target: d.Container.MountPath}},
				ImageEnv: map[string]string{"PATH": "/usr/bin"}}
			rc.Env["PATH"] = "/usr/bin"
			for _, e := range d.Container.Env {
				rc.Env[e.Name] = e.Value
			}
			for k, v := range oc.RunEnv[ctr.Name] {
				if v == nil {
					delete(rc.Env, k)
				} else {
					rc.Env[k] = *v
				}
			}
			if ctr.Runtime == nil {
				ctr.Runtime = &observe.Runtime{Status: ctr.State, Running: ctr.State == "running"}
			}
			ctr.Runtime.Config = rc
		}
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./pkg/plan -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test ./pkg/plan -run TestGolden -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func values(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// roundTrip checks that a plan saved to a file (plan --out) and read back
// (fleetctl show, apply PLAN_FILE) renders exactly as the plan did.
func roundTrip(t *testing.T, p *Plan, text, js string) {
	t.Helper()
	b, err := Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	var text2, js2 bytes.Buffer
	if err := back.WriteText(&text2); err != nil {
		t.Fatal(err)
	}
	if err := back.WriteJSON(&js2); err != nil {
		t.Fatal(err)
	}
	if text2.String() != text {
		t.Errorf("the saved plan renders other text:\n--- read back\n%s\n--- made\n%s", text2.String(), text)
	}
	if js2.String() != js {
		t.Errorf("the saved plan renders other JSON:\n--- read back\n%s\n--- made\n%s", js2.String(), js)
	}
	if msg := Stale(back, p); msg != "" {
		t.Errorf("a saved plan read back is stale against itself: %s", msg)
	}
}
