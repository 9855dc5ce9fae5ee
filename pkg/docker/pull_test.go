package docker_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"

	"github.com/quantabase/fleetctl/pkg/docker"
)

// A pull of an image the host already has comes from pullPolicy: always:
// the failure advises if-not-present, which would use the local image.
func TestPullAdviceForAPresentImage(t *testing.T) {
	e := newEnv(t)
	warmLockImage(t, e) // fleetctl/lock:v1 is on the host
	// A registry that refuses connections at once: a port nobody listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ref := addr + "/fleetctl-test/present:" + e.fleet
	if err := e.raw.ImageTag(e.ctx, docker.LockImage, ref); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.raw.ImageRemove(context.Background(), ref, image.RemoveOptions{}) }) // the tag only

	ctx, cancel := context.WithTimeout(e.ctx, 20*time.Second)
	defer cancel()
	err = e.c.PullImage(ctx, ref)
	if err == nil {
		t.Fatal("pull from a closed port succeeded")
	}
	t.Logf("%v", err)
	for _, want := range []string{"pull image " + ref, "is on the Docker host", "pullPolicy: if-not-present"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}
