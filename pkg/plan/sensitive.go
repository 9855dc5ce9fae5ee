package plan

import "github.com/quantabase/fleetctl/pkg/fleet"

// SensitiveValues lists every secret value the clients' containers get,
// including the ones derived from references (each client's
// WEBUI_SECRET_KEY, a Supabase URL), so that output read from the clients
// (their logs) can be masked with them.
func SensitiveValues(s *fleet.Spec, secrets fleet.Secrets) []string {
	var out []string
	for i := range s.Clients {
		d := renderClient(s, &s.Clients[i], secrets)
		for _, e := range d.Container.Env {
			if e.Sensitive && e.Value != "" {
				out = append(out, e.Value)
			}
		}
	}
	return out
}
