// Package schema embeds the JSON Schema of fleet.yaml. Editors read the file
// (fleet.schema.json); pkg/fleet enforces the same bytes when it loads a fleet,
// so what an editor flags and what fleetctl rejects cannot drift apart.
//
// It imports nothing of fleetctl's and must stay a leaf package.
package schema

import _ "embed"

// JSON is the JSON Schema (draft 2020-12) of fleet.yaml. Treat it as read-only.
//
//go:embed fleet.schema.json
var JSON []byte
