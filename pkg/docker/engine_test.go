package docker_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"

	"github.com/quantabase/fleetctl/pkg/docker"
	"github.com/quantabase/fleetctl/pkg/observe"
	"github.com/quantabase/fleetctl/pkg/resource"
)

func TestEnsureVolume(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx

	t.Run("create then idempotent", func(t *testing.T) {
		v := resource.Volume{Name: e.fleet + "-a-data", Labels: e.labels("a")}
		for i := 0; i < 2; i++ {
			if err := e.c.EnsureVolume(ctx, v); err != nil {
				t.Fatalf("EnsureVolume #%d: %v", i+1, err)
			}
		}
		got, err := e.raw.VolumeInspect(ctx, v.Name)
		if err != nil {
			t.Fatal(err)
		}
		if !observe.Managed(got.Labels, e.fleet) || got.Labels[observe.LabelClient] != "a" {
			t.Errorf("labels = %v", got.Labels)
		}
	})

	t.Run("adopts an unlabelled volume", func(t *testing.T) {
		name := e.fleet + "-old-data"
		if _, err := e.raw.VolumeCreate(ctx, volume.CreateOptions{Name: name}); err != nil {
			t.Fatal(err)
		}
		if err := e.c.EnsureVolume(ctx, resource.Volume{Name: name, Labels: e.labels("old")}); err != nil {
			t.Fatalf("adopting an old-script volume: %v", err)
		}
		got, err := e.raw.VolumeInspect(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Labels) != 0 {
			t.Errorf("adopted volume relabelled? %v", got.Labels)
		}
	})

	t.Run("refuses another fleet's volume", func(t *testing.T) {
		name := e.fleet + "-theirs"
		theirs := e.labels("x")
		theirs[observe.LabelFleet] = e.fleet + "-other"
		if _, err := e.raw.VolumeCreate(ctx, volume.CreateOptions{Name: name, Labels: theirs}); err != nil {
			t.Fatal(err)
		}
		err := e.c.EnsureVolume(ctx, resource.Volume{Name: name, Labels: e.labels("x")})
		if !errors.Is(err, docker.ErrVolumeOwned) || !strings.Contains(err.Error(), name) {
			t.Errorf("err = %v, want ErrVolumeOwned naming %s", err, name)
		}
	})
}

func TestContainerLifecycle(t *testing.T) {
	e := newEnv(t)
	img := e.image(t)
	ctx := e.ctx
	port := freePort(t)
	vol := e.fleet + "-acme-data"
	if err := e.c.EnsureVolume(ctx, resource.Volume{Name: vol, Labels: e.labels("acme")}); err != nil {
		t.Fatal(err)
	}
	spec := resource.Container{
		Name: e.fleet + "-acme", Image: img, Labels: e.labels("acme"),
		Env: []resource.EnvVar{
			{Name: "MARK", Value: "first"},
			{Name: "WEBUI_NAME", Value: "ACME Corp"},
		},
		Volume: vol, MountPath: "/data",
		BindAddress: "127.0.0.1", HostPort: port, ContainerPort: 3000,
		RestartPolicy: "unless-stopped", MemoryBytes: 64 << 20, NanoCPUs: 500_000_000,
	}
	id, err := e.c.CreateContainer(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	assertState(t, e, id, "created")

	info, err := e.raw.ContainerInspect(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "/"+spec.Name || !slices.Contains(info.Config.Env, "WEBUI_NAME=ACME Corp") {
		t.Errorf("name %q env %v", info.Name, info.Config.Env)
	}
	if ms := info.HostConfig.Mounts; len(ms) != 1 || ms[0].Type != mount.TypeVolume || ms[0].Source != vol || ms[0].Target != "/data" {
		t.Errorf("mounts = %+v", ms)
	}
	if pb := info.HostConfig.PortBindings["3000/tcp"]; len(pb) != 1 || pb[0].HostIP != "127.0.0.1" || pb[0].HostPort != strconv.Itoa(port) {
		t.Errorf("port bindings = %+v", info.HostConfig.PortBindings)
	}
	hc := info.HostConfig
	if hc.RestartPolicy.Name != "unless-stopped" || hc.Memory != 64<<20 || hc.NanoCPUs != 500_000_000 {
		t.Errorf("restart %q memory %d cpus %d", hc.RestartPolicy.Name, hc.Memory, hc.NanoCPUs)
	}

	if err := e.c.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	assertState(t, e, id, "running")
	body := httpGet(t, port)
	if !strings.Contains(body, `"status":true`) || !strings.Contains(body, "ACME Corp") {
		t.Errorf("GET / = %q", body)
	}
	// stdout and stderr are demuxed into one text; their relative order is
	// the engine's (it copies the two streams concurrently).
	waitLogs(t, e, id, 0, "to stderr")
	all := waitLogs(t, e, id, 0, "line 5")
	if strings.Contains(all, "\x01") || strings.Contains(all, "\x02") {
		t.Errorf("stream headers left in logs: %q", all)
	}
	tail, err := e.c.ContainerLogsTail(ctx, id, 3)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(tail, "\n"), "\n")
	if len(lines) != 3 || !strings.HasSuffix(all, tail) {
		t.Errorf("tail 3 = %q (all: %q)", tail, all)
	}

	if err := e.c.StopContainer(ctx, id, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	assertState(t, e, id, "exited")
	if err := e.c.StopContainer(ctx, id, 5*time.Second); err != nil {
		t.Errorf("stopping a stopped container: %v", err)
	}

	// Parking disables the restart policy; it can be given back.
	for _, policy := range []string{"no", "always"} {
		if err := e.c.SetRestartPolicy(ctx, id, policy); err != nil {
			t.Fatal(err)
		}
		ci, err := e.raw.ContainerInspect(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(ci.HostConfig.RestartPolicy.Name); got != policy {
			t.Errorf("restart policy = %q, want %q", got, policy)
		}
	}
	if err := e.c.SetRestartPolicy(ctx, id, "sometimes"); err == nil {
		t.Error("an unknown restart policy was accepted")
	}

	prev := spec.Name + observe.PreviousSuffix
	if err := e.c.RenameContainer(ctx, id, prev); err != nil {
		t.Fatal(err)
	}
	assertState(t, e, prev, "exited")
	assertState(t, e, spec.Name, "")

	if err := e.c.RemoveContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	assertState(t, e, id, "")
	if err := e.c.RemoveContainer(ctx, id); err != nil {
		t.Errorf("removing a missing container: %v", err)
	}
	if err := e.c.StopContainer(ctx, id, time.Second); err != nil {
		t.Errorf("stopping a missing container: %v", err)
	}
	if _, err := e.raw.VolumeInspect(ctx, vol); err != nil {
		t.Fatalf("volume gone after RemoveContainer: %v", err)
	}

	// The data survived: a new container on the same volume finds the marker.
	spec.Env = []resource.EnvVar{{Name: "MARK", Value: "second"}}
	id2, err := e.c.CreateContainer(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.c.StartContainer(ctx, id2); err != nil {
		t.Fatal(err)
	}
	if logs := waitLogs(t, e, id2, 0, "found marker"); !strings.Contains(logs, "found marker: first") {
		t.Errorf("second container's logs = %q", logs)
	}
	// Removing a running container works too (force), volume still kept.
	if err := e.c.RemoveContainer(ctx, id2); err != nil {
		t.Fatal(err)
	}
	if _, err := e.raw.VolumeInspect(ctx, vol); err != nil {
		t.Fatalf("volume gone after removing a running container: %v", err)
	}
}

func TestCreateContainerErrors(t *testing.T) {
	e := newEnv(t)
	img := e.image(t)
	spec := resource.Container{Name: e.fleet + "-dup", Image: img, Labels: e.labels("dup")}
	if _, err := e.c.CreateContainer(e.ctx, spec); err != nil {
		t.Fatal(err)
	}
	_, err := e.c.CreateContainer(e.ctx, spec)
	if !errors.Is(err, docker.ErrNameInUse) || !strings.Contains(err.Error(), "create container "+spec.Name) {
		t.Errorf("duplicate name: err = %v", err)
	}

	bad := spec
	bad.Name, bad.RestartPolicy = e.fleet+"-bad", "sometimes"
	if _, err := e.c.CreateContainer(e.ctx, bad); err == nil || !strings.Contains(err.Error(), "sometimes") {
		t.Errorf("bad restart policy: err = %v", err)
	}

	missing := spec
	missing.Name, missing.Image = e.fleet+"-noimg", "fleetctl-test/no-such-image:nope"
	if _, err := e.c.CreateContainer(e.ctx, missing); err == nil || !strings.Contains(err.Error(), missing.Image) {
		t.Errorf("missing image: err = %v", err)
	}
}

func TestContainerStateMissing(t *testing.T) {
	e := newEnv(t)
	st, err := e.c.ContainerState(e.ctx, e.fleet+"-nobody")
	if st != "" || err != nil {
		t.Errorf("ContainerState(missing) = %q, %v; want \"\", nil", st, err)
	}
}

func TestPullImageFailsFast(t *testing.T) {
	e := newEnv(t)
	ref := "fleetctl-test/does-not-exist:" + e.fleet
	ctx, cancel := context.WithTimeout(e.ctx, 20*time.Second)
	defer cancel()
	start := time.Now()
	err := e.c.PullImage(ctx, ref)
	if err == nil {
		t.Fatal("pulling a non-existent image succeeded")
	}
	t.Logf("after %s: %v", time.Since(start).Round(time.Millisecond), err)
	// The image is missing: no pullPolicy helps, and none is advised.
	for _, want := range []string{"pull image " + ref, "not on the Docker host", "build or load"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "if-not-present") {
		t.Errorf("error %q advises pullPolicy: if-not-present for a missing image", err)
	}
	if time.Since(start) > 20*time.Second {
		t.Errorf("pull was not bounded by its context")
	}
}

func assertState(t *testing.T, e *env, id, want string) {
	t.Helper()
	got, err := e.c.ContainerState(e.ctx, id)
	if err != nil || got != want {
		t.Errorf("ContainerState(%s) = %q, %v; want %q", id, got, err, want)
	}
}

// waitLogs polls the last n lines (0: all) until they contain s.
func waitLogs(t *testing.T, e *env, id string, n int, s string) string {
	t.Helper()
	var logs string
	eventually(t, 10*time.Second, "logs containing "+s, func() bool {
		var err error
		if logs, err = e.c.ContainerLogsTail(e.ctx, id, n); err != nil {
			t.Fatal(err)
		}
		return strings.Contains(logs, s)
	})
	return logs
}

func httpGet(t *testing.T, port int) string {
	t.Helper()
	var body string
	eventually(t, 10*time.Second, "HTTP on the published port", func() bool {
		resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return resp.StatusCode == http.StatusOK
	})
	return body
}
