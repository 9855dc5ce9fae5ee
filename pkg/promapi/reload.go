package promapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Reload asks the Prometheus at base (http://127.0.0.1:9090) to reload its
// configuration and rule files: POST /-/reload, which Prometheus serves
// when started with --web.enable-lifecycle. A configuration Prometheus
// refuses comes back as an error quoting its answer; it keeps running the
// old one.
func Reload(ctx context.Context, base string) error {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("reload prometheus: the address is not an http(s) URL such as http://127.0.0.1:9090")
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/-/reload"
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), nil)
	if err != nil {
		return fmt.Errorf("reload prometheus: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("reload prometheus at %s: %w", u.Redacted(), err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	switch {
	case resp.StatusCode == http.StatusOK:
		return nil
	case resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("reload prometheus at %s: %s (start it with --web.enable-lifecycle)", u.Redacted(), resp.Status)
	}
	return fmt.Errorf("reload prometheus at %s: %s: %s", u.Redacted(), resp.Status, strings.TrimSpace(string(body)))
}
