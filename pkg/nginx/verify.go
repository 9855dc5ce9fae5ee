package nginx

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/quantabase/fleetctl/pkg/redact"
)

// `nginx -s reload` only signals the master: it exits 0 even when the master
// then fails to load the new configuration (a port it cannot bind, for
// one: `nginx -t` does not bind) and goes on with the old one. So after a
// reload ApplySites asks nginx itself: every managed server on the HTTP
// port answers a request carrying the header X-Fleetctl-Probe with a line
// naming its content ("fleetctl-site FLEET CLIENT ID", ID derived from the
// rendered file). Only when each changed site gives its new answer (and
// each removed site no longer gives its old one) is the reload taken. This
// works wherever nginx runs (host, or a container driven by docker exec) as
// long as its HTTP port is reachable on ProbeHost.

// ErrReloadNotTaken: nginx was told to reload but does not serve the new files.
var ErrReloadNotTaken = errors.New("nginx did not load the new configuration")

const (
	// DefaultProbeHost is where nginx's HTTP port is asked by default.
	DefaultProbeHost = "127.0.0.1"
	// DefaultErrorLog is nginx's error log on Debian and in the official image.
	DefaultErrorLog = "/var/log/nginx/error.log"
	// DefaultVerifyTimeout bounds the wait for nginx to serve a reload.
	DefaultVerifyTimeout = 15 * time.Second

	probeHeader   = "X-Fleetctl-Probe"
	probeIDLen    = 16
	probeInterval = 100 * time.Millisecond
	// emergGrace is how long probing goes on once the error log shows a
	// failure (a shared log may hold another nginx's lines).
	emergGrace = time.Second
	maxLogRead = 64 << 10
)

// probeLineRe finds a rendered file's probe answer.
var probeLineRe = lazyRegexp(`(?m)^\s*return 200 "(fleetctl-site [a-z0-9-]{1,63} [a-z0-9-]{1,63} [0-9a-f]{16})\\n";$`)

// expectation is what one site must answer once nginx runs the directory.
type expectation struct {
	file   string
	domain string
	port   int
	want   string // the answer the file gives, or "" for a file that is gone
	gone   string // for a removed file: the answer it gave, that nginx must no longer give
}

// expect reads what a rendered file answers; ok is false for a file
// without a probe (an older format), which cannot be checked.
func expect(file string, data []byte) (expectation, bool) {
	f := parseFile(file, data)
	m := probeLineRe().FindSubmatch(data)
	if !f.Managed || f.Site == nil || m == nil {
		return expectation{}, false
	}
	return expectation{file: file, domain: f.Site.Domain, port: f.Site.HTTPPort, want: string(m[1]) + "\n"}, true
}

// gone turns the expectation of a file that was removed into "no longer
// answers that".
func (e expectation) removed() expectation {
	e.gone, e.want = e.want, ""
	return e
}

// verify waits (bounded) until nginx gives every expected answer. logFrom is
// the error log's size before the reload: new [emerg], [alert] and [crit]
// lines since then are nginx's message, and end the wait early.
func (s *Sites) verify(ctx context.Context, exps []expectation, logFrom int64) error {
	timeout := s.VerifyTimeout
	if timeout <= 0 {
		timeout = DefaultVerifyTimeout
	}
	deadline := time.Now().Add(timeout)
	// Requests share the deadline: an address that swallows packets cannot
	// stretch the wait to one client timeout per site.
	ctx, cancel := context.WithDeadline(ctx, deadline.Add(time.Second))
	defer cancel()
	client := &http.Client{
		Transport:     &http.Transport{DisableKeepAlives: true, Proxy: nil}, // a new connection reaches the new workers
		Timeout:       2 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	defer client.CloseIdleConnections()
	var grace time.Time
	done := make([]bool, len(exps))
	for {
		var waiting []string
		for i, e := range exps {
			if done[i] {
				continue
			}
			ok, got := s.probe(ctx, client, e)
			if done[i] = ok; !ok {
				waiting = append(waiting, got)
			}
		}
		if len(waiting) == 0 {
			return nil
		}
		msg := redact.FromContext(ctx).String(s.logErrors(logFrom)) // nginx's words: may quote requests
		if msg != "" && grace.IsZero() {
			grace = time.Now().Add(emergGrace)
		}
		if now := time.Now(); now.After(deadline) || (!grace.IsZero() && now.After(grace)) {
			if msg == "" {
				msg = "nothing new in " + s.errorLog() + " (set proxy.errorLog to where nginx logs to show its message)"
			} else {
				msg = "nginx's error log says: " + msg
			}
			return fmt.Errorf("%w (a reload was sent, but %s): %s", ErrReloadNotTaken, strings.Join(waiting, "; "), msg)
		}
		select {
		case <-ctx.Done(): // the caller's cancellation (the deadline is checked above)
			if time.Now().Before(deadline) {
				return ctx.Err()
			}
		case <-time.After(probeInterval):
		}
	}
}

// probe asks nginx once; it returns whether e holds and, if not, what nginx
// answered instead.
func (s *Sites) probe(ctx context.Context, client *http.Client, e expectation) (bool, string) {
	host := s.ProbeHost
	if host == "" {
		host = DefaultProbeHost
	}
	addr := net.JoinHostPort(host, strconv.Itoa(e.port))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/", nil)
	if err != nil {
		return false, err.Error()
	}
	req.Host = e.domain
	req.Header.Set(probeHeader, "1")
	got := ""
	resp, err := client.Do(req)
	if err != nil {
		got = "no answer from " + addr + " (" + err.Error() + "; set proxy.probeHost to where nginx's port " + strconv.Itoa(e.port) + " is reachable)"
	} else {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		got = string(body)
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(got, "fleetctl-site ") {
			got = "HTTP " + strconv.Itoa(resp.StatusCode) + " without fleetctl's answer"
		}
	}
	if e.want == "" {
		return got != e.gone, e.file + " (removed) is still served for " + e.domain
	}
	if got == e.want {
		return true, ""
	}
	if f := strings.Fields(got); len(f) == 4 && f[0] == "fleetctl-site" {
		if got = "as the site of client " + f[2]; f[2] == strings.TrimSuffix(e.file, ".conf") {
			got = "with the previous version of the file"
		}
	}
	return false, e.domain + " on " + addr + " answers " + strings.TrimSpace(got) + ", not " + e.file + " as written"
}

func (s *Sites) errorLog() string {
	if s.ErrorLog != "" {
		return s.ErrorLog
	}
	return DefaultErrorLog
}

// logSize is the error log's size now (0 when it cannot be read).
func (s *Sites) logSize() int64 {
	fi, err := os.Stat(s.errorLog())
	if err != nil || !fi.Mode().IsRegular() {
		return 0
	}
	return fi.Size()
}

// logErrors returns the [emerg], [alert] and [crit] lines nginx logged
// since offset from (the whole file when it was rotated), joined.
func (s *Sites) logErrors(from int64) string {
	f, err := os.Open(s.errorLog())
	if err != nil {
		return ""
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return ""
	} else if fi.Size() < from {
		from = 0 // rotated since
	}
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return ""
	}
	raw, _ := io.ReadAll(io.LimitReader(f, maxLogRead))
	var lines []string
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		m := logLineRe().FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		// "[emerg] bind() to 0.0.0.0:80 failed (98: Address already in use)",
		// once (nginx retries a bind and logs each try).
		if l := m[1] + " " + m[2]; !seen[l] {
			seen[l] = true
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "; ")
}

// logLineRe is an error log line of level emerg, alert or crit:
// "2026/01/02 03:04:05 [emerg] 123#123: message".
var logLineRe = lazyRegexp(`^\S+ \S+ (\[(?:emerg|alert|crit)\]) (?:\d+#\d+: )?(?:\*\d+ )?(.*)$`)
