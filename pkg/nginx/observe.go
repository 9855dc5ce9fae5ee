package nginx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/quantabase/fleetctl/pkg/observe"
)

// maxSiteFile bounds what Observe reads of one file: managed files are a few
// KiB, and a huge unmanaged file needs only its name.
const maxSiteFile = 1 << 20

// Sites is one nginx sites directory and how to test and reload nginx. Test
// and Reload are argument lists, run without a shell.
type Sites struct {
	Dir    string
	Test   []string
	Reload []string
	// Fleet is the fleet whose managed files this Sites may change.
	Fleet string
	// ProbeHost is the address on which fleetctl reaches nginx's HTTP port
	// to check that a reload was taken (default DefaultProbeHost).
	ProbeHost string
	// ErrorLog is nginx's error log as fleetctl can read it: what nginx
	// logs there after a reload it did not take is the error's message
	// (default DefaultErrorLog; an unreadable log only loses the message).
	ErrorLog string
	// VerifyTimeout bounds that check (default DefaultVerifyTimeout).
	VerifyTimeout time.Duration
}

// Observe lists the directory: every file and symlink except dot-files
// (fleetctl's temp files), with the managed header of regular files parsed.
// It also checks that each path in certs (certificate and key files the
// sites will name) exists.
func (s *Sites) Observe(ctx context.Context, certs []string) (*observe.SitesState, error) {
	entries, err := os.ReadDir(s.Dir)
	if err != nil {
		return nil, fmt.Errorf("observe nginx sites: %w", err)
	}
	st := &observe.SitesState{Dir: s.Dir, Files: []observe.SiteFile{}}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		name := e.Name()
		if strings.HasPrefix(name, ".") || e.IsDir() {
			continue
		}
		f := observe.SiteFile{Name: name}
		if e.Type().IsRegular() {
			data, err := readSmall(filepath.Join(s.Dir, name))
			if err != nil {
				return nil, fmt.Errorf("observe nginx sites: %w", err)
			}
			if data != nil {
				f = parseFile(name, data)
			}
		}
		st.Files = append(st.Files, f)
	}
	sort.Slice(st.Files, func(i, j int) bool { return st.Files[i].Name < st.Files[j].Name })
	if _, err := os.Lstat(filepath.Join(s.Dir, PendingMarker)); err == nil {
		st.Pending = true
	}
	for _, p := range certs {
		// Only a definite "does not exist" counts: a path we may not stat
		// (permissions) is left to nginx -t.
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) && !slices.Contains(st.Missing, p) {
			st.Missing = append(st.Missing, p)
		}
	}
	sort.Strings(st.Missing)
	return st, nil
}

// readSmall reads a file of at most maxSiteFile bytes (nil for a larger one).
func readSmall(path string) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, maxSiteFile+1))
	if err != nil || len(data) > maxSiteFile {
		return nil, err
	}
	return data, nil
}
