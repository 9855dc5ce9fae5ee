package fleet

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const editFleet = `# our fleet
apiVersion: fleetctl/v1
fleet: edits
secretKeySeed: ${env:SEED}   # keep me
defaults:
  image: img:1
clients:
  # the first client
  - name: alpha
    port: 8081
    state: running   # comment on state
  - name: beta       # beta's comment
    port: 8082
    displayName: "Beta Ltd"

  # gamma is last
  - name: gamma
    port: 8083
`

func TestSetClientFieldReplacesInPlaceKeepingComments(t *testing.T) {
	out, err := SetClientField([]byte(editFleet), "fleet.yaml", "alpha", "state", "stopped", "")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(editFleet, "    state: running   # comment on state", "    state: stopped # comment on state", 1)
	if string(out) != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out, want)
	}
	spec, err := Parse(out, "fleet.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if spec.Client("alpha").State != StateStopped {
		t.Fatal("state not applied")
	}
}

func TestSetClientFieldAddsUnderTheName(t *testing.T) {
	out, err := SetClientField([]byte(editFleet), "fleet.yaml", "beta", "image", "sha256:0123abcd", "rolled back by fleetctl")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(editFleet, "  - name: beta       # beta's comment\n",
		"  - name: beta       # beta's comment\n    image: sha256:0123abcd # rolled back by fleetctl\n", 1)
	if string(out) != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out, want)
	}
	d := Diff("fleet.yaml", []byte(editFleet), out)
	if !strings.Contains(d, "+     image: sha256:0123abcd") || strings.Contains(d, "- ") && !strings.Contains(d, "--- fleet.yaml") {
		t.Fatalf("diff:\n%s", d)
	}
}

func TestSetClientFieldQuotesWhatWouldReadOtherwise(t *testing.T) {
	out, err := SetClientField([]byte(editFleet), "fleet.yaml", "gamma", "displayName", "no", "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `    displayName: "no"`) {
		t.Fatalf("got:\n%s", out)
	}
}

func TestSetClientFieldRefusesInvalidResult(t *testing.T) {
	_, err := SetClientField([]byte(editFleet), "fleet.yaml", "alpha", "state", "sleeping", "")
	if err == nil || !strings.Contains(err.Error(), "nothing was written") {
		t.Fatalf("err = %v", err)
	}
	if _, err := SetClientField([]byte(editFleet), "fleet.yaml", "delta", "state", "stopped", ""); !errors.Is(err, ErrNoClient) {
		t.Fatalf("err = %v", err)
	}
	flow := strings.Replace(editFleet, "  - name: gamma\n    port: 8083\n", "  - {name: gamma, port: 8083}\n", 1)
	if _, err := SetClientField([]byte(flow), "fleet.yaml", "gamma", "state", "stopped", ""); err == nil || !strings.Contains(err.Error(), "flow style") {
		t.Fatalf("err = %v", err)
	}
}

func TestRemoveClient(t *testing.T) {
	for _, tc := range []struct{ client, gone string }{
		{"alpha", "  # the first client\n  - name: alpha\n    port: 8081\n    state: running   # comment on state\n"},
		{"beta", "  - name: beta       # beta's comment\n    port: 8082\n    displayName: \"Beta Ltd\"\n"},
		{"gamma", "\n  # gamma is last\n  - name: gamma\n    port: 8083\n"},
	} {
		out, err := RemoveClient([]byte(editFleet), "fleet.yaml", tc.client)
		if err != nil {
			t.Fatalf("%s: %v", tc.client, err)
		}
		want := strings.Replace(editFleet, tc.gone, "", 1)
		if tc.client == "gamma" {
			want = strings.Replace(editFleet, "\n  # gamma is last\n  - name: gamma\n    port: 8083", "", 1)
		}
		if string(out) != want {
			t.Errorf("%s: got:\n%s\nwant:\n%s", tc.client, out, want)
		}
	}
	one := "apiVersion: fleetctl/v1\nfleet: one\nsecretKeySeed: ${env:S}\nclients:\n  - name: solo\n    port: 9000\n"
	out, err := RemoveClient([]byte(one), "f.yaml", "solo")
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "apiVersion: fleetctl/v1\nfleet: one\nsecretKeySeed: ${env:S}\nclients: []\n" {
		t.Fatalf("got %q", out)
	}
}

func TestWriteFileAtomicKeepsMode(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fleet.yaml")
	if err := os.WriteFile(p, []byte("a"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(p, []byte("b")); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(p)
	b, _ := os.ReadFile(p)
	if string(b) != "b" || fi.Mode().Perm() != 0o640 {
		t.Fatalf("got %q %v", b, fi.Mode())
	}
	ents, _ := os.ReadDir(filepath.Dir(p))
	if len(ents) != 1 {
		t.Fatalf("left behind: %v", ents)
	}
}

// An edit never panics and never returns a file that does not load.
func FuzzEdit(f *testing.F) {
	f.Add([]byte(editFleet), "beta", "stopped")
	f.Add([]byte("clients:\n- name: x\n"), "x", "")
	f.Fuzz(func(t *testing.T, data []byte, client, value string) {
		for _, out := range [][]byte{
			must(SetClientField(data, "f.yaml", client, "state", value, "")),
			must(SetClientField(data, "f.yaml", client, "image", value, "c")),
			must(RemoveClient(data, "f.yaml", client)),
		} {
			if out == nil {
				continue
			}
			if _, err := Parse(out, "f.yaml"); err != nil {
				t.Fatalf("edit returned an invalid file: %v\n%s", err, out)
			}
		}
	})
}

func must(b []byte, err error) []byte {
	if err != nil {
		return nil
	}
	return b
}
