package backup

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/quantabase/fleetctl/pkg/backup/archive"
	"github.com/quantabase/fleetctl/pkg/redact"
)

// ErrResticPassword: the repository exists and refuses the password.
var ErrResticPassword = errors.New("restic repository: wrong password")

// Restic is a restic repository (Debian's restic). Each backup is one
// snapshot of the archive stream (--stdin, uncompressed, so unchanged files
// deduplicate), host = fleet, tags fleetctl, client=…, backup=…, and, once
// verified, bytes=… and verified. The password reaches restic through its
// environment, never its arguments; restic's messages are masked.
type Restic struct {
	Repository string
	Password   string
	Fleet      string
	Bin        string // default "restic"
	Mask       *redact.Masker
}

func (r *Restic) String() string { return "restic " + redact.URL(r.Repository) }

func (r *Restic) cmd(ctx context.Context, args ...string) *exec.Cmd {
	bin := r.Bin
	if bin == "" {
		bin = "restic"
	}
	c := exec.CommandContext(ctx, bin, args...)
	env := []string{}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "RESTIC_PASSWORD") || k == "RESTIC_REPOSITORY" || k == "RESTIC_REPOSITORY_FILE" {
			continue
		}
		env = append(env, kv)
	}
	c.Env = append(env, "RESTIC_REPOSITORY="+r.Repository, "RESTIC_PASSWORD="+r.Password)
	c.WaitDelay = 10 * time.Second
	return c
}

// run runs restic and returns its stdout; a failure carries its stderr, masked.
func (r *Restic) run(ctx context.Context, args ...string) ([]byte, error) {
	c := r.cmd(ctx, args...)
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		return out, r.fail(args[0], err, stderr.String())
	}
	return out, nil
}

func (r *Restic) fail(verb string, err error, stderr string) error {
	msg := strings.TrimSpace(stderr)
	if strings.Contains(msg, "wrong password") {
		return fmt.Errorf("%w (%s)", ErrResticPassword, r)
	}
	if msg == "" {
		msg = err.Error()
	}
	return r.Mask.Error(fmt.Errorf("restic %s (%s): %s", verb, r, msg))
}

// Check opens the repository: a wrong password is ErrResticPassword. With
// create, a missing repository is initialised (never one that exists).
func (r *Restic) Check(ctx context.Context, create bool) error {
	c := r.cmd(ctx, "cat", "config")
	var stderr bytes.Buffer
	c.Stderr = &stderr
	if err := c.Run(); err != nil {
		msg := stderr.String()
		missing := strings.Contains(msg, "Is there a repository") || strings.Contains(msg, "unable to open config file") ||
			strings.Contains(msg, "does not exist")
		if !missing || !create {
			return r.fail("cat config", err, msg)
		}
		if _, err := r.run(ctx, "init"); err != nil {
			return err
		}
	}
	return nil
}

func (r *Restic) Create(ctx context.Context, client, id string) (Pending, error) {
	if err := r.Check(ctx, true); err != nil {
		return nil, err
	}
	c := r.cmd(ctx, "backup", "--json", "--stdin", "--stdin-filename", client+".tar",
		"--host", r.Fleet, "--tag", "fleetctl", "--tag", "client="+client, "--tag", "backup="+id)
	in, err := c.StdinPipe()
	if err != nil {
		return nil, err
	}
	p := &resticPending{r: r, c: c, in: bufio.NewWriterSize(in, 1<<20), closer: in, e: Entry{ID: id, Client: client}}
	c.Stdout, c.Stderr = &p.stdout, &p.stderr
	if err := c.Start(); err != nil {
		return nil, fmt.Errorf("restic backup: %w", err)
	}
	return p, nil
}

type resticPending struct {
	r              *Restic
	c              *exec.Cmd
	in             *bufio.Writer
	closer         io.Closer
	stdout, stderr bytes.Buffer
	e              Entry
	snapshot       string
}

func (p *resticPending) Write(b []byte) (int, error) { return p.in.Write(b) }

func (p *resticPending) Close() (Entry, error) {
	ferr := p.in.Flush()
	p.closer.Close()
	if err := p.c.Wait(); err != nil {
		return p.e, p.r.fail("backup", err, p.stderr.String())
	}
	if ferr != nil {
		return p.e, fmt.Errorf("restic backup: %w", ferr)
	}
	sc := bufio.NewScanner(&p.stdout)
	for sc.Scan() {
		var m struct {
			Type       string `json:"message_type"`
			SnapshotID string `json:"snapshot_id"`
			DataAdded  int64  `json:"data_added"`
		}
		if json.Unmarshal(sc.Bytes(), &m) == nil && m.Type == "summary" {
			p.snapshot, p.e.Stored = m.SnapshotID, m.DataAdded
		}
	}
	if p.snapshot == "" {
		return p.e, fmt.Errorf("restic backup: no snapshot ID in its output")
	}
	p.e.Location = p.snapshot
	return p.e, nil
}

func (p *resticPending) Finalize(ctx context.Context, m *archive.Manifest) (Entry, error) {
	if _, err := p.r.run(ctx, "tag", "--add", "verified,bytes="+strconv.FormatInt(m.TotalBytes, 10), p.snapshot); err != nil {
		return p.e, err
	}
	e, err := Find(ctx, p.r, p.e.Client, p.e.ID)
	if err != nil {
		return p.e, err
	}
	return e, nil
}

func (p *resticPending) Discard(ctx context.Context) error {
	if p.snapshot == "" {
		return nil
	}
	_, err := p.r.run(ctx, "forget", p.snapshot)
	return err
}

func (r *Restic) Open(ctx context.Context, e Entry) (io.ReadCloser, error) {
	if err := r.Check(ctx, false); err != nil {
		return nil, err
	}
	c := r.cmd(ctx, "dump", e.Location, "/"+e.Client+".tar")
	out, err := c.StdoutPipe()
	if err != nil {
		return nil, err
	}
	rc := &resticDump{r: r, c: c, out: out}
	c.Stderr = &rc.stderr
	if err := c.Start(); err != nil {
		return nil, fmt.Errorf("restic dump: %w", err)
	}
	return rc, nil
}

type resticDump struct {
	r      *Restic
	c      *exec.Cmd
	out    io.Reader
	stderr bytes.Buffer
	done   bool
}

func (d *resticDump) Read(b []byte) (int, error) {
	n, err := d.out.Read(b)
	if err == io.EOF && !d.done {
		d.done = true
		if werr := d.c.Wait(); werr != nil {
			return n, d.r.fail("dump", werr, d.stderr.String())
		}
	}
	return n, err
}

func (d *resticDump) Close() error {
	if !d.done {
		d.done = true
		_ = d.c.Process.Kill()
		_ = d.c.Wait()
	}
	return nil
}

func (r *Restic) List(ctx context.Context, client string) ([]Entry, error) {
	if err := r.Check(ctx, false); err != nil {
		return nil, err
	}
	tags := "fleetctl,verified"
	if client != "" {
		tags += ",client=" + client
	}
	out, err := r.run(ctx, "snapshots", "--json", "--host", r.Fleet, "--tag", tags)
	if err != nil {
		return nil, err
	}
	var snaps []struct {
		ID   string    `json:"id"`
		Time time.Time `json:"time"`
		Tags []string  `json:"tags"`
	}
	if err := json.Unmarshal(out, &snaps); err != nil {
		return nil, fmt.Errorf("restic snapshots: %w", err)
	}
	var es []Entry
	for _, s := range snaps {
		e := Entry{Location: s.ID, Time: s.Time.UTC()}
		for _, t := range s.Tags {
			k, v, _ := strings.Cut(t, "=")
			switch k {
			case "client":
				e.Client = v
			case "backup":
				e.ID = v
			case "bytes":
				e.Bytes, _ = strconv.ParseInt(v, 10, 64)
			}
		}
		if e.ID != "" && e.Client != "" {
			es = append(es, e)
		}
	}
	sortEntries(es)
	return es, nil
}

func (r *Restic) Remove(ctx context.Context, es []Entry) error {
	if len(es) == 0 {
		return nil
	}
	args := []string{"forget", "--prune"}
	for _, e := range es {
		args = append(args, e.Location)
	}
	_, err := r.run(ctx, args...)
	return err
}
