package docker_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/image"

	"github.com/quantabase/fleetctl/pkg/docker"
)

// staticFleetctl returns a static fleetctl binary: FLEETCTL_BIN (make test
// builds it with CGO_ENABLED=0), else one built here the same way.
func staticFleetctl(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("FLEETCTL_BIN"); p != "" {
		return p
	}
	out := filepath.Join(t.TempDir(), "fleetctl")
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, "../../cmd/fleetctl")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

func TestEnsureBinaryImage(t *testing.T) {
	e := newEnv(t)
	bin := staticFleetctl(t)
	version := "t-" + randHex(4) // a tag of this test's own, removed at the end
	ref, err := e.c.EnsureBinaryImage(e.ctx, bin, version)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = e.raw.ImageRemove(e.ctx, ref, image.RemoveOptions{}) })
	if !strings.HasPrefix(ref, docker.SelfImageRepo+":"+version+"-") || len(ref) != len(docker.SelfImageRepo+":"+version+"-")+12 {
		t.Fatalf("ref %q: want %s:%s-<12 hex>", ref, docker.SelfImageRepo, version)
	}
	first, err := e.raw.ImageInspect(e.ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.c.EnsureBinaryImage(e.ctx, bin, version)
	if err != nil || again != ref {
		t.Fatalf("second call: %q, %v; want %q reused", again, err, ref)
	}
	second, err := e.raw.ImageInspect(e.ctx, ref)
	if err != nil || second.ID != first.ID {
		t.Fatalf("image was rebuilt: %s then %s (%v)", first.ID, second.ID, err)
	}
	if got := first.Config.Entrypoint; len(got) != 1 || got[0] != docker.SelfBinaryPath {
		t.Errorf("entrypoint %v, want [%s]", got, docker.SelfBinaryPath)
	}

	// The binary runs in it, with a volume mounted, and its output comes back.
	vol := e.fleet + "-helper"
	var out bytes.Buffer
	err = e.c.RunHelper(e.ctx, docker.HelperRun{
		Name: e.fleet + "-helper-version", Image: ref, Args: []string{"version"},
		Mounts: []docker.HelperMount{{Volume: vol, Target: "/data"}},
		Labels: e.labels("helper"), Stdout: &out,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "fleetctl ") {
		t.Errorf("helper printed %q, want the fleetctl version", out.String())
	}
	// Stdin reaches it; a failing agent is an error carrying its stderr.
	err = e.c.RunHelper(e.ctx, docker.HelperRun{
		Name: e.fleet + "-helper-bad", Image: ref, Args: []string{"no-such-verb"},
		Labels: e.labels("helper"), Stdin: strings.NewReader("x"),
	})
	if err == nil || !strings.Contains(err.Error(), "no-such-verb") {
		t.Errorf("failing helper: %v, want its stderr", err)
	}
}

func TestEnsureBinaryImageRefusesDynamic(t *testing.T) {
	e := newEnv(t)
	_, err := e.c.EnsureBinaryImage(e.ctx, "/bin/sh", "dev")
	if err == nil || !strings.Contains(err.Error(), "CGO_ENABLED=0") {
		t.Fatalf("dynamic binary: %v, want a refusal naming CGO_ENABLED=0", err)
	}
}
