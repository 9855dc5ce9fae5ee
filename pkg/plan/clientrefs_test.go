package plan

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/quantabase/fleetctl/pkg/fleet"
)

// fleet.Spec.ClientRefs is what read-only verbs (status) rely on to know
// whose drift they can compute without every secret: a client rendered with
// only the secrets ClientRefs names must be rendered exactly as with all.
func TestClientRefsSufficeToRender(t *testing.T) {
	files, _ := filepath.Glob("testdata/plan/*/*.yaml")
	if len(files) < 10 {
		t.Fatalf("only %d golden specs", len(files))
	}
	for _, file := range files {
		spec, all := loadGoldenSpec(t, file)
		for i := range spec.Clients {
			c := &spec.Clients[i]
			only := fleet.Secrets{}
			for _, r := range spec.ClientRefs(c) {
				only[r] = all[r]
			}
			if got, want := renderClient(spec, c, only), renderClient(spec, c, all); !reflect.DeepEqual(got, want) {
				t.Errorf("%s: client %s needs more secrets than ClientRefs %v", file, c.Name, spec.ClientRefs(c))
			}
		}
	}
}
