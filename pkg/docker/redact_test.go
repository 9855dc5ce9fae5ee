package docker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/quantabase/fleetctl/pkg/redact"
	"github.com/quantabase/fleetctl/pkg/resource"
)

// The engine echoes what it was sent: runc quotes a whole NAME=value env
// pair when it refuses the value, and containers print their environment.
// Both reach fleetctl's output only through the adapter, which masks them
// with the masker of the context (pkg/redact). fleet refuses a NUL in a
// secret long before this; this is the second line of defence.
func TestEngineErrorsAndLogsMasked(t *testing.T) {
	e := newEnv(t)
	img := e.image(t)
	const secret = "Sekr1t-Distinct-Q9"
	ctx := redact.NewContext(e.ctx, redact.New(secret+"\x00tail", secret))

	bad := resource.Container{Name: e.fleet + "-nul", Image: img, Labels: e.labels("nul"),
		Env: []resource.EnvVar{{Name: "MYSECRET", Value: secret + "\x00tail", Sensitive: true}}}
	id, err := e.c.CreateContainer(ctx, bad)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	// The raw engine error does hold the value (so this test can fail)...
	rawErr := e.raw.ContainerStart(ctx, id, container.StartOptions{})
	if rawErr == nil || !strings.Contains(rawErr.Error(), secret) {
		t.Fatalf("the engine no longer echoes env values (%v): this test needs another leak to test", rawErr)
	}
	// ...and the adapter's does not.
	err = e.c.StartContainer(ctx, id)
	if err == nil {
		t.Fatal("a NUL in an env value started")
	}
	if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "tail") {
		t.Errorf("start error leaks the secret: %v", err)
	}
	if !strings.Contains(err.Error(), "MYSECRET=") || !strings.Contains(err.Error(), redact.Sensitive) {
		t.Errorf("start error lost its meaning: %v", err)
	}

	// The sleeper prints the marker it finds in /data, written from MARK by
	// its previous run: a container printing a secret.
	chatty := resource.Container{Name: e.fleet + "-chatty", Image: img, Labels: e.labels("chatty"),
		Env: []resource.EnvVar{{Name: "MARK", Value: secret, Sensitive: true}}}
	id, err = e.c.CreateContainer(ctx, chatty)
	if err != nil {
		t.Fatal(err)
	}
	// Each run prints "to stderr" once it has written the marker.
	var logs string
	for run := 1; run <= 2; run++ {
		if err := e.c.StartContainer(ctx, id); err != nil {
			t.Fatal(err)
		}
		eventually(t, 30*time.Second, "the sleeper's output", func() bool {
			logs, err = e.c.ContainerLogsTail(ctx, id, 0)
			if err != nil {
				t.Fatal(err)
			}
			return strings.Count(logs, "to stderr") == run
		})
		if err := e.c.StopContainer(ctx, id, 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(logs, "found marker: "+redact.Sensitive) || strings.Contains(logs, secret) {
		t.Errorf("logs not masked:\n%s", logs)
	}
	if plain, _ := e.c.ContainerLogsTail(context.WithoutCancel(e.ctx), id, 0); !strings.Contains(plain, secret) {
		t.Errorf("without a masker the logs should show the marker (else this test proves nothing):\n%s", plain)
	}
}
