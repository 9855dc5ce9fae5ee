package apply

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/quantabase/fleetctl/pkg/plan"
	"github.com/quantabase/fleetctl/pkg/resource"
)

// logTailer is implemented by engines that can explain a failed health check
// with the container's last log lines.
type logTailer interface {
	ContainerLogsTail(ctx context.Context, id string, n int) (string, error)
}

// create makes a new client container and, when it should run, starts it and
// waits for its health check. A container that fails is stopped (not
// removed), so the next plan retries it with a start and the operator can
// read its logs.
func (r *runner) create(ctx context.Context, a *plan.Action) error {
	id, err := r.eng.CreateContainer(ctx, *a.Container)
	if err != nil {
		return err
	}
	if !a.Start {
		return nil
	}
	if err := r.startHealthy(ctx, a, id); err != nil {
		if serr := r.eng.StopContainer(ctx, id, r.opt.StopTimeout); serr != nil {
			return fmt.Errorf("%w (and stopping it failed: %v)", err, serr)
		}
		return err
	}
	return nil
}

// errOldNotRemoved: the replacement is up and healthy, only the parked old
// container is left (the next plan removes it). Callers treat it as done.
var errOldNotRemoved = errors.New("the new container is healthy, but removing the old one failed")

// recreate replaces a client's container stop-first: SQLite allows a single
// writer, so the old container is stopped before the new one starts, and it is
// kept (stopped, renamed to PreviousName) until the new one is healthy. If the
// new one fails, it is removed and the old one is renamed back and restarted.
// Every step is idempotent, so a recreate interrupted at any point is resumed
// by the next plan (see plan's handling of PreviousName).
func (r *runner) recreate(ctx context.Context, a *plan.Action) error {
	prev := a.PreviousID
	switch {
	case a.ExistingID != "" && !a.ExistingMatches && prev != "":
		// An interrupted recreate left a parked container, which was healthy
		// when it was parked, and a current one that never proved healthy:
		// drop the unproven one and keep the parked one to roll back to.
		if err := r.stopRemove(ctx, a.ExistingID); err != nil {
			return fmt.Errorf("remove unproven container of an interrupted recreate: %w", err)
		}
		if err := r.eng.StopContainer(ctx, prev, r.opt.StopTimeout); err != nil {
			return fmt.Errorf("stop parked container: %w", err)
		}
	case a.ExistingID != "" && !a.ExistingMatches:
		if err := r.eng.StopContainer(ctx, a.ExistingID, r.opt.StopTimeout); err != nil {
			return fmt.Errorf("stop old container: %w", err)
		}
		// Parked with restart policy "no": an engine or host restart must not
		// start it beside its replacement on the same volume.
		if err := r.eng.SetRestartPolicy(ctx, a.ExistingID, "no"); err != nil {
			return fmt.Errorf("park old container: %w", err)
		}
		if err := r.eng.RenameContainer(ctx, a.ExistingID, a.PreviousName); err != nil {
			return fmt.Errorf("park old container as %s: %w", a.PreviousName, err)
		}
		prev = a.ExistingID
	case prev != "":
		if err := r.eng.StopContainer(ctx, prev, r.opt.StopTimeout); err != nil {
			return fmt.Errorf("stop parked container: %w", err)
		}
	}

	id := a.ExistingID
	if !a.ExistingMatches {
		var err error
		if id, err = r.eng.CreateContainer(ctx, *a.Container); err != nil {
			return r.restore(ctx, a, prev, "", fmt.Errorf("create new container: %w", err))
		}
	}
	if a.Start {
		if err := r.startHealthy(ctx, a, id); err != nil {
			return r.restore(ctx, a, prev, id, err)
		}
	}
	if prev != "" {
		if err := r.eng.RemoveContainer(ctx, prev); err != nil {
			return fmt.Errorf("%w (%s): %w", errOldNotRemoved, a.PreviousName, err)
		}
	}
	return nil
}

// restore undoes a failed recreate: the new container goes, the old one comes
// back under its name and, if the client should run, is started again.
func (r *runner) restore(ctx context.Context, a *plan.Action, prev, newID string, cause error) error {
	if newID != "" {
		if err := r.stopRemove(ctx, newID); err != nil {
			return fmt.Errorf("%w; removing the failed new container also failed: %v", cause, err)
		}
	}
	if prev == "" {
		return cause
	}
	if err := r.eng.RenameContainer(ctx, prev, a.Object); err != nil {
		return fmt.Errorf("%w; restoring the old container failed: %v (it is kept as %s)", cause, err, a.PreviousName)
	}
	if a.OldRestart != "" {
		if err := r.eng.SetRestartPolicy(ctx, prev, a.OldRestart); err != nil {
			return fmt.Errorf("%w; the old container was restored but its restart policy was not: %v", cause, err)
		}
	}
	if a.Start {
		if err := r.eng.StartContainer(ctx, prev); err != nil {
			return fmt.Errorf("%w; the old container was restored but did not start: %v", cause, err)
		}
		old := *a.Container
		if a.OldPort.HostPort != 0 {
			old.BindAddress, old.HostPort = a.OldPort.HostIP, a.OldPort.HostPort
		}
		if err := r.healthy(ctx, a.Object, &old, prev); err != nil {
			return fmt.Errorf("%w; the old container was restored but is not healthy: %v", cause, err)
		}
	}
	return fmt.Errorf("%w; rolled back: the old container is restored and healthy", cause)
}

func (r *runner) stopRemove(ctx context.Context, id string) error {
	if err := r.eng.StopContainer(ctx, id, r.opt.StopTimeout); err != nil {
		return err
	}
	return r.eng.RemoveContainer(ctx, id)
}

func (r *runner) startHealthy(ctx context.Context, a *plan.Action, id string) error {
	if err := r.eng.StartContainer(ctx, id); err != nil {
		return err
	}
	return r.healthy(ctx, a.Object, a.Container, id)
}

// healthy polls the container's health endpoint on its published port until
// it answers {"status": true} or the timeout runs out. A container that exits
// fails at once, with its last log lines.
func (r *runner) healthy(ctx context.Context, name string, c *resource.Container, id string) error {
	h := c.Health
	if h.Path == "" {
		h.Path = "/health"
	}
	if h.Timeout <= 0 {
		h.Timeout = 2 * time.Minute
	}
	if h.Interval <= 0 {
		h.Interval = 500 * time.Millisecond
	}
	url := HealthURL(r.opt.ProbeHost, c.BindAddress, c.HostPort, h.Path)
	deadline := time.Now().Add(h.Timeout)
	var last string
	for {
		ok, detail := Probe(ctx, r.opt.HTTP, url)
		if ok {
			return nil
		}
		last = detail
		state, err := r.eng.ContainerState(ctx, id)
		if err == nil && state != "running" && state != "restarting" {
			return fmt.Errorf("health check: container %s is %s%s", name, orUnknown(state), r.logs(ctx, id, c))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("health check: %s not healthy after %s (last: %s)%s", url, h.Timeout, last, r.logs(ctx, id, c))
		}
		select {
		case <-time.After(h.Interval):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// HealthURL is where a client's health endpoint answers: on the probe host
// (the Docker host) unless the port is bound to one specific other address.
func HealthURL(probeHost, bind string, port int, path string) string {
	host := bind
	switch bind {
	case "", "0.0.0.0", "::", "127.0.0.1":
		host = probeHost
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(port)) + path
}

// Probe asks url once; ok when it answers 200 {"status": true}, else detail
// says what it answered.
func Probe(ctx context.Context, hc *http.Client, url string) (ok bool, detail string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, err.Error()
	}
	resp, err := hc.Do(req)
	if err != nil {
		return false, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Sprintf("HTTP %d", resp.StatusCode)
	}
	var v struct {
		Status bool `json:"status"`
	}
	if err := json.Unmarshal(body, &v); err != nil || !v.Status {
		return false, fmt.Sprintf("unexpected body %q", strings.TrimSpace(string(body)))
	}
	return true, ""
}

// logs returns the container's last log lines for an error message, with
// every sensitive value of its environment masked: applications do log their
// connection strings.
func (r *runner) logs(ctx context.Context, id string, c *resource.Container) string {
	lt, ok := r.eng.(logTailer)
	if !ok {
		return ""
	}
	out, err := lt.ContainerLogsTail(ctx, id, 20)
	if err != nil || strings.TrimSpace(out) == "" {
		return ""
	}
	for _, e := range c.Env {
		if e.Sensitive && e.Value != "" {
			out = strings.ReplaceAll(out, e.Value, plan.Masked)
		}
	}
	return "\n    last log lines:\n      " + strings.ReplaceAll(strings.TrimRight(out, "\n"), "\n", "\n      ")
}

func orUnknown(s string) string {
	if s == "" {
		return "gone"
	}
	return s
}
