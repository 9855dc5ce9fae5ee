package promapi

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ReloadStatus is what a Prometheus says, in its own metrics, of its last
// configuration reload.
type ReloadStatus struct {
	// Successful is prometheus_config_last_reload_successful == 1.
	Successful bool
	// At is prometheus_config_last_reload_success_timestamp_seconds.
	At float64
}

// LastReload reads the reload metrics from base's /metrics.
func LastReload(ctx context.Context, base string) (ReloadStatus, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ReloadStatus{}, fmt.Errorf("prometheus metrics: the address is not an http(s) URL such as http://127.0.0.1:9090")
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/metrics"
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return ReloadStatus{}, fmt.Errorf("prometheus metrics: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return ReloadStatus{}, fmt.Errorf("prometheus metrics at %s: %w", u.Redacted(), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return ReloadStatus{}, fmt.Errorf("prometheus metrics at %s: %s", u.Redacted(), resp.Status)
	}
	var st ReloadStatus
	found := 0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		switch name {
		case "prometheus_config_last_reload_successful":
			st.Successful, found = strings.TrimSpace(val) == "1", found+1
		case "prometheus_config_last_reload_success_timestamp_seconds":
			if f, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
				st.At, found = f, found+1
			}
		}
	}
	if err := sc.Err(); err != nil {
		return ReloadStatus{}, fmt.Errorf("prometheus metrics at %s: %w", u.Redacted(), err)
	}
	if found < 2 {
		return ReloadStatus{}, fmt.Errorf("prometheus metrics at %s: no prometheus_config_last_reload_* series (is it Prometheus?)", u.Redacted())
	}
	return st, nil
}

// ReloadVerified reloads base (Reload) and checks, in its metrics, that the
// reload took: the last reload succeeded and happened after the request.
func ReloadVerified(ctx context.Context, base string) error {
	before, err := LastReload(ctx, base)
	if err != nil {
		return fmt.Errorf("reload prometheus: %w", err)
	}
	if err := Reload(ctx, base); err != nil {
		return err
	}
	after, err := LastReload(ctx, base)
	if err != nil {
		return fmt.Errorf("reload prometheus: %w", err)
	}
	switch {
	case !after.Successful:
		return fmt.Errorf("reload prometheus: it reports its last reload failed (prometheus_config_last_reload_successful 0): it keeps the old configuration")
	case after.At <= before.At:
		return fmt.Errorf("reload prometheus: the reload did not take (last successful reload still at %.3f)", after.At)
	}
	return nil
}
