package nginx

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/quantabase/fleetctl/pkg/observe"
	"github.com/quantabase/fleetctl/pkg/resource"
)

// A managed file starts with exactly this header line; the hash covers every
// byte after it. A file whose first line does not match is not fleetctl's and
// is never changed.
// Compiled on first use (render.go), not at start-up.
var headerRe = lazyRegexp(`^# Managed by fleetctl \(fleet ([a-z0-9-]{1,63}), client ([a-z0-9-]{1,63}), format ([0-9]{1,4}), sha256 ([0-9a-f]{64})\)\. Do not edit: fleetctl plan reports edits and apply reverts them\.$`)

// siteLinePrefix starts the second line: the rendered site as JSON, so the
// planner can name the fields that changed.
const siteLinePrefix = "# fleetctl-site: "

func header(fleet, client string, format int, hash string) string {
	return fmt.Sprintf("# Managed by fleetctl (fleet %s, client %s, format %d, sha256 %s). Do not edit: fleetctl plan reports edits and apply reverts them.\n",
		fleet, client, format, hash)
}

// parseFile reads what a file says about itself. Anything without a valid
// header comes back unmanaged.
func parseFile(name string, data []byte) observe.SiteFile {
	f := observe.SiteFile{Name: name}
	first, body, ok := bytes.Cut(data, []byte("\n"))
	if !ok {
		return f
	}
	m := headerRe().FindSubmatch(first)
	if m == nil {
		return f
	}
	format, _ := strconv.Atoi(string(m[3]))
	f.Managed, f.Fleet, f.Client, f.Format, f.Hash = true, string(m[1]), string(m[2]), format, string(m[4])
	f.Actual = contentHash(body)
	second, _, _ := bytes.Cut(body, []byte("\n"))
	if rec, ok := bytes.CutPrefix(second, []byte(siteLinePrefix)); ok {
		var s resource.Site
		if json.Unmarshal(rec, &s) == nil {
			f.Site = &s
		}
	}
	return f
}
