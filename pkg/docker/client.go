package docker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docker/docker/client"
)

// idleConns is how many idle engine connections a client keeps: as many as
// its widest burst of calls (inspectParallelism).
const idleConns = inspectParallelism

// pingTimeout bounds the first contact with the engine, so a wrong
// DOCKER_HOST fails in seconds instead of hanging.
const pingTimeout = 10 * time.Second

// Client talks to one Docker engine. It is safe for concurrent use.
type Client struct {
	api   *client.Client
	host  string // DOCKER_HOST as given, or the default socket
	probe string
	calls atomic.Int64
	base  *http.Transport
	log   *slog.Logger
	// version is the fleetctl version the helper image's tag carries.
	version string
}

// New connects to the engine named by the environment (DOCKER_HOST,
// DOCKER_TLS_VERIFY, DOCKER_CERT_PATH, DOCKER_API_VERSION), negotiates the API
// version and pings it, so an unreachable engine is reported here.
func New(ctx context.Context) (*Client, error) {
	host := os.Getenv(client.EnvOverrideHost)
	return connect(ctx, host, []client.Opt{client.FromEnv})
}

// connect builds a client for host ("" means the default socket) from the
// given options, then negotiates and pings.
func connect(ctx context.Context, host string, base []client.Opt) (*Client, error) {
	c := &Client{log: slog.Default(), version: "dev"}
	c.host = host
	if c.host == "" {
		c.host = client.DefaultDockerHost
	}
	probe, err := probeHost(host)
	if err != nil {
		return nil, fmt.Errorf("DOCKER_HOST %q: %w", host, err)
	}
	c.probe = probe

	opts := append(base, client.WithAPIVersionNegotiation())
	if u, err := url.Parse(host); err == nil && u.Scheme == "ssh" {
		// The SDK has no ssh transport of its own; like the docker CLI, run
		// "docker system dial-stdio" on the remote host over ssh and speak
		// HTTP through its stdin/stdout.
		opts = append(opts,
			client.WithHost("http://docker.example.com"),
			client.WithDialContext(sshDialer(u)))
	}
	opts = append(opts, c.countRequests())
	api, err := client.NewClientWithOpts(opts...)
	if err != nil {
		return nil, fmt.Errorf("docker client for %s: %w", c.host, err)
	}
	c.api = api

	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	ping, err := api.Ping(pctx)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("cannot reach the Docker engine at %s: %w", c.host, err)
	}
	// Negotiate from this ping so no request pays for a second one.
	api.NegotiateAPIVersionPing(ping)
	return c, nil
}

// SetLogger sets where the client logs the rare things it does on its own
// (taking over a stale lock). The default is slog.Default().
func (c *Client) SetLogger(l *slog.Logger) {
	if l != nil {
		c.log = l
	}
}

// Calls returns how many HTTP requests the client has sent to the engine,
// including the ping in New.
func (c *Client) Calls() int64 { return c.calls.Load() }

// APIVersion returns the negotiated Engine API version (e.g. "1.41").
func (c *Client) APIVersion() string { return c.api.ClientVersion() }

// Host returns the engine address in use (DOCKER_HOST or the default socket).
func (c *Client) Host() string { return c.host }

// Local reports whether the engine is reached over a unix socket, so it
// runs on this host and shares its ports.
func (c *Client) Local() bool { return strings.HasPrefix(c.host, "unix://") }

// ProbeHost returns the host on which published ports can be reached: the
// host of DOCKER_HOST for a tcp:// or ssh:// engine, else 127.0.0.1.
func (c *Client) ProbeHost() string { return c.probe }

// Close releases idle connections.
func (c *Client) Close() error {
	if c.base != nil {
		c.base.CloseIdleConnections()
	}
	if c.api != nil {
		return c.api.Close()
	}
	return nil
}

func probeHost(dockerHost string) (string, error) {
	if dockerHost == "" {
		return "127.0.0.1", nil
	}
	u, err := url.Parse(dockerHost)
	if err != nil {
		return "", err
	}
	switch u.Scheme {
	case "tcp", "ssh", "http", "https":
		if h := u.Hostname(); h != "" {
			return h, nil
		}
		return "", errors.New("no host name")
	default:
		return "127.0.0.1", nil
	}
}

// countRequests wraps the SDK's transport with a request counter. It runs
// after FromEnv, so the transport it wraps is already set up for the host and
// TLS; the SDK only detects TLS on an unwrapped transport, so the scheme is
// set here explicitly.
func (c *Client) countRequests() client.Opt {
	return func(api *client.Client) error {
		hc := api.HTTPClient() // a copy; the transport pointer is shared
		base, ok := hc.Transport.(*http.Transport)
		if !ok {
			return fmt.Errorf("unexpected docker transport %T", hc.Transport)
		}
		if base.TLSClientConfig != nil {
			if err := client.WithScheme("https")(api); err != nil {
				return err
			}
		}
		c.base = base
		// The SDK keeps 2 idle connections per host: a plan's burst of
		// inspect calls (and an apply's parallel actions) would dial most
		// of theirs again. Keep as many as run at once; the SDK's idle
		// timeout still closes them.
		base.MaxIdleConnsPerHost = max(base.MaxIdleConnsPerHost, idleConns)
		base.MaxIdleConns = max(base.MaxIdleConns, idleConns)
		hc.Transport = countingTransport{next: base, n: &c.calls}
		return client.WithHTTPClient(hc)(api)
	}
}

type countingTransport struct {
	next http.RoundTripper
	n    *atomic.Int64
}

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.n.Add(1)
	return t.next.RoundTrip(r)
}

// sshDialer returns a dialer that runs "docker system dial-stdio" on the host
// of u through the local ssh client (which reads ~/.ssh/config and the agent).
func sshDialer(u *url.URL) func(ctx context.Context, network, addr string) (net.Conn, error) {
	args := []string{"-o", "ConnectTimeout=10"}
	if u.User != nil {
		args = append(args, "-l", u.User.Username())
	}
	if p := u.Port(); p != "" {
		args = append(args, "-p", p)
	}
	args = append(args, "--", u.Hostname(), "docker", "system", "dial-stdio")
	return func(ctx context.Context, _, _ string) (net.Conn, error) {
		// Not CommandContext: the connection outlives the dial's context.
		cmd := exec.Command("ssh", args...)
		conn := &cmdConn{cmd: cmd, host: u.Host}
		cmd.Stderr = &conn.stderr
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return nil, err
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("ssh %s: %w", u.Host, err)
		}
		conn.r, conn.w = stdout, stdin
		return conn, nil
	}
}

// cmdConn is a net.Conn over a child process's stdin and stdout.
type cmdConn struct {
	cmd      *exec.Cmd
	r        io.ReadCloser
	w        io.WriteCloser
	host     string
	stderr   bytes.Buffer // written by exec until Wait returns
	closed   atomic.Bool
	waitOnce sync.Once
}

// Read turns the end of ssh's output into ssh's own complaint, if any
// ("Connection refused", "Permission denied"), instead of a bare EOF.
func (c *cmdConn) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err == io.EOF {
		c.wait()
		if msg := strings.TrimSpace(c.stderr.String()); msg != "" {
			return n, fmt.Errorf("ssh %s: %s", c.host, msg)
		}
	}
	return n, err
}

func (c *cmdConn) Write(p []byte) (int, error) { return c.w.Write(p) }

func (c *cmdConn) wait() { c.waitOnce.Do(func() { _ = c.cmd.Wait() }) }

func (c *cmdConn) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	_ = c.w.Close()
	_ = c.cmd.Process.Kill()
	c.wait()
	return nil
}

func (c *cmdConn) LocalAddr() net.Addr              { return sshAddr("local") }
func (c *cmdConn) RemoteAddr() net.Addr             { return sshAddr(c.host) }
func (c *cmdConn) SetDeadline(time.Time) error      { return nil }
func (c *cmdConn) SetReadDeadline(time.Time) error  { return nil }
func (c *cmdConn) SetWriteDeadline(time.Time) error { return nil }

type sshAddr string

func (a sshAddr) Network() string { return "ssh" }
func (a sshAddr) String() string  { return string(a) }
