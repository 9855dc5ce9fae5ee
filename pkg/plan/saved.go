package plan

import (
	"encoding/json"
	"fmt"
)

// FormatVersion is the version of the JSON form of a plan (plan --json, a
// saved plan file). Programs ignore fields they do not know.
const FormatVersion = 1

// Encode is the JSON form of a plan saved by `plan --out`: what `apply
// PLAN_FILE` and `show PLAN_FILE` read back. It carries only the masked
// views (the executor's fields are not part of it), so no secret value is
// ever in a plan file.
func Encode(p *Plan) ([]byte, error) {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode plan: %w", err)
	}
	return append(b, '\n'), nil
}

// Decode reads a plan saved by Encode. The result renders (WriteText,
// WriteJSON) as the plan did when it was made; it can be compared with a
// fresh plan (Stale) but not run: the executor's fields are empty.
func Decode(b []byte) (*Plan, error) {
	var p Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("not a saved plan: %w", err)
	}
	if p.FormatVersion != FormatVersion {
		return nil, fmt.Errorf("unsupported formatVersion %d (this fleetctl reads %d)", p.FormatVersion, FormatVersion)
	}
	return &p, nil
}
