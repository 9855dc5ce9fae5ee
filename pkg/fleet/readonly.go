package fleet

import "sort"

// Read-only verbs (status, db show) must work with Docker access alone: a
// secret that is not set makes only what needs it unknown, never the
// whole command fail. Verbs that change anything use Resolve, which needs
// every secret.

// ResolveAvailable is Resolve for read-only verbs: it returns every secret
// it could resolve, and the error naming the others (nil when there are
// none). Values it refuses (a NUL byte, a FIFO) count as unresolved.
func (r Resolver) ResolveAvailable(s *Spec) (Secrets, *SecretError) {
	return r.resolve(s)
}

// ClientRefs lists the references the desired config of client c needs
// (its container environment and the keyed config hash), sorted: the
// secretKeySeed unless the client pins its own secretKey, its secretKey,
// its Google OAuth client secret, its env references and its database URL
// or Supabase password.
func (s *Spec) ClientRefs(c *Client) []SecretRef {
	set := map[SecretRef]bool{}
	add := func(r SecretRef) {
		if !r.IsZero() {
			set[r] = true
		}
	}
	if c.SecretKey.IsZero() {
		add(s.SecretKeySeed)
	}
	add(c.SecretKey)
	if c.OAuth != nil && c.OAuth.Google != nil {
		add(c.OAuth.Google.ClientSecret)
	}
	for _, v := range c.Env {
		if r := SecretRef(v); r.IsRef() {
			add(r)
		}
	}
	for _, r := range c.Database.refs() {
		add(r)
	}
	return sortedRefs(set)
}

// DatabaseRefs lists the references client c's database connection needs
// (none for SQLite).
func (c *Client) DatabaseRefs() []SecretRef {
	set := map[SecretRef]bool{}
	for _, r := range c.Database.refs() {
		set[r] = true
	}
	return sortedRefs(set)
}

func (d *Database) refs() []SecretRef {
	if d == nil || d.Backend != BackendPostgres {
		return nil
	}
	var out []SecretRef
	if !d.URL.IsZero() {
		out = append(out, d.URL)
	}
	if d.Supabase != nil && !d.Supabase.Password.IsZero() {
		out = append(out, d.Supabase.Password)
	}
	return out
}

// Unresolved maps each client whose desired config needs a reference that
// secrets lacks to those references; clients that have every secret they
// need are absent.
func (s *Spec) Unresolved(secrets Secrets) map[string][]SecretRef {
	out := map[string][]SecretRef{}
	for i := range s.Clients {
		c := &s.Clients[i]
		for _, r := range s.ClientRefs(c) {
			if _, ok := secrets[r]; !ok {
				out[c.Name] = append(out[c.Name], r)
			}
		}
	}
	return out
}

func sortedRefs(set map[SecretRef]bool) []SecretRef {
	out := make([]SecretRef, 0, len(set))
	for r := range set {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
