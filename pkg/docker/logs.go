package docker

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/quantabase/fleetctl/pkg/redact"
)

// LogOptions select a container's log lines.
type LogOptions struct {
	// Follow keeps streaming new lines until ctx ends.
	Follow bool
	// Since is a duration ("10m") or a timestamp, as the engine takes it.
	Since string
	// Tail is how many lines from the end (0 or less: all).
	Tail int
}

// StreamLogs calls line with each log line of container id (stdout and
// stderr as the engine stored them, without the newline), every line masked
// with the context's masker: applications log their connection strings and
// keys. It returns at the end of the log (or, with Follow, when ctx ends,
// with no error).
func (c *Client) StreamLogs(ctx context.Context, id string, opt LogOptions, line func(string)) error {
	tail := "all"
	if opt.Tail > 0 {
		tail = strconv.Itoa(opt.Tail)
	}
	rc, err := c.api.ContainerLogs(ctx, id, container.LogsOptions{
		ShowStdout: true, ShowStderr: true, Follow: opt.Follow, Since: opt.Since, Tail: tail,
	})
	if err != nil {
		return fmt.Errorf("logs of container %s: %w", shortID(id), redact.FromContext(ctx).Error(err))
	}
	defer rc.Close()
	m := redact.FromContext(ctx)
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		// Containers without a TTY (all of fleetctl's) multiplex stdout and
		// stderr in frames; both go to one ordered stream of lines.
		_, err := stdcopy.StdCopy(pw, pw, rc)
		pw.CloseWithError(err)
		done <- err
	}()
	sc := bufio.NewScanner(pr)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line(m.String(sc.Text()))
	}
	serr := sc.Err()
	pr.Close()
	rc.Close()
	err = <-done
	if ctx.Err() != nil {
		return nil
	}
	if serr != nil {
		err = serr
	}
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrClosedPipe) {
		return fmt.Errorf("logs of container %s: %w", shortID(id), m.Error(err))
	}
	return nil
}
