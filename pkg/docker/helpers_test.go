package docker_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	"github.com/quantabase/fleetctl/pkg/docker"
	"github.com/quantabase/fleetctl/pkg/observe"
)

// testImage is a tiny workload built from testdata/sleeper and imported from
// a tar, so these tests need no registry and no other image.
const testImage = "fleetctl-test/docker-sleeper:dev"

var (
	imageOnce sync.Once
	imageErr  error
)

// env is one test's world: its own fleet name, an adapter and a raw SDK
// client for checking what the adapter did behind its back.
type env struct {
	fleet string
	c     *docker.Client
	raw   *client.Client
	ctx   context.Context
}

// newEnv connects to the real engine (failing, not skipping, when it is
// unreachable unless FLEETCTL_SKIP_DOCKER=1) and registers a cleanup that
// removes every container and volume labelled with the test's fleet.
func newEnv(t testing.TB) *env {
	t.Helper()
	if os.Getenv("FLEETCTL_SKIP_DOCKER") == "1" {
		t.Skip("FLEETCTL_SKIP_DOCKER=1")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	c, err := docker.New(ctx)
	if err != nil {
		t.Fatalf("docker engine unreachable (set FLEETCTL_SKIP_DOCKER=1 to skip): %v", err)
	}
	t.Cleanup(func() { c.Close() })
	raw, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	e := &env{fleet: "t-" + randHex(4), c: c, raw: raw, ctx: ctx}
	t.Cleanup(func() { e.cleanup(t) })
	return e
}

func (e *env) cleanup(t testing.TB) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f := filters.NewArgs(filters.Arg("label", observe.LabelFleet+"="+e.fleet))
	cs, err := e.raw.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	for _, c := range cs {
		if err := e.raw.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}); err != nil {
			t.Errorf("cleanup container %s: %v", c.ID, err)
		}
	}
	// Unlabelled test objects carry the fleet name as a prefix.
	vs, err := e.raw.VolumeList(ctx, volume.ListOptions{})
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	for _, v := range vs.Volumes {
		if v.Labels[observe.LabelFleet] == e.fleet || strings.HasPrefix(v.Name, e.fleet+"-") {
			if err := e.raw.VolumeRemove(ctx, v.Name, true); err != nil {
				t.Errorf("cleanup volume %s: %v", v.Name, err)
			}
		}
	}
}

// unmanaged registers removal of an unlabelled container made by the test.
func (e *env) unmanaged(t testing.TB, id string) {
	t.Cleanup(func() {
		_ = e.raw.ContainerRemove(context.Background(), id, container.RemoveOptions{Force: true})
	})
}

func (e *env) labels(client string) map[string]string {
	return map[string]string{
		observe.LabelManagedBy: observe.ManagedByValue,
		observe.LabelFleet:     e.fleet,
		observe.LabelClient:    client,
	}
}

// image makes sure testImage exists, building and importing it once per run.
func (e *env) image(t testing.TB) string {
	t.Helper()
	imageOnce.Do(func() { imageErr = buildTestImage(e.ctx, e.raw) })
	if imageErr != nil {
		t.Fatalf("build test image: %v", imageErr)
	}
	return testImage
}

func buildTestImage(ctx context.Context, raw *client.Client) error {
	dir, err := os.MkdirTemp("", "sleeper")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "sleeper")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./testdata/sleeper")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []*tar.Header{
		{Name: "data/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "sleeper", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(data))},
	} {
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
	}
	if _, err := tw.Write(data); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	rc, err := raw.ImageImport(ctx, image.ImportSource{Source: &buf, SourceName: "-"}, testImage,
		image.ImportOptions{Changes: []string{`CMD ["/sleeper"]`, "EXPOSE 3000"}})
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(io.Discard, rc)
	return err
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// eventually polls f until it returns true or d passes.
func eventually(t testing.TB, d time.Duration, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
