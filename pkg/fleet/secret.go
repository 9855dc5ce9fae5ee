package fleet

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// SecretRef is a reference to a secret: "${env:NAME}" or "${file:PATH}".
// The zero value means "not set". Its String form is the reference itself,
// never the value, so it is safe to print.
type SecretRef string

var secretRefRe = regexp.MustCompile(`^\$\{(env|file):([^{}\s]+)\}$`)

// IsZero reports whether the reference is unset.
func (r SecretRef) IsZero() bool { return r == "" }

// IsRef reports whether r is a well-formed reference (env values may be
// either literals or references).
func (r SecretRef) IsRef() bool { _, _, ok := r.Parse(); return ok }

// Parse splits the reference into its kind ("env" or "file") and target.
func (r SecretRef) Parse() (kind, target string, ok bool) {
	m := secretRefRe.FindStringSubmatch(string(r))
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// Secrets maps each reference to its resolved value.
type Secrets map[SecretRef]string

// Value returns the resolved value of ref ("" when unset).
func (s Secrets) Value(ref SecretRef) string { return s[ref] }

// Resolver reads secret sources; the zero value reads the process
// environment and the file system.
type Resolver struct {
	LookupEnv func(string) (string, bool)
	ReadFile  func(string) ([]byte, error)
	// BaseDir resolves relative ${file:} paths (the directory of fleet.yaml).
	BaseDir string
}

// Refs lists every secret reference the spec uses, sorted and unique.
func (s *Spec) Refs() []SecretRef {
	seen := map[SecretRef]bool{}
	add := func(r SecretRef) {
		if !r.IsZero() {
			seen[r] = true
		}
	}
	add(s.SecretKeySeed)
	addOAuth := func(o *OAuth) {
		if o != nil && o.Google != nil {
			add(o.Google.ClientSecret)
		}
	}
	addOAuth(s.Defaults.OAuth)
	for i := range s.Clients {
		c := &s.Clients[i]
		add(c.SecretKey)
		addOAuth(c.OAuth)
		for _, v := range c.Env {
			if r := SecretRef(v); r.IsRef() {
				add(r)
			}
		}
		if c.Database != nil {
			add(c.Database.URL)
			if c.Database.Supabase != nil {
				add(c.Database.Supabase.Password)
			}
		}
	}
	out := make([]SecretRef, 0, len(seen))
	for r := range seen {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Resolve reads every secret the spec references. All missing secrets are
// reported at once, each by its reference (never by a value).
func (r Resolver) Resolve(s *Spec) (Secrets, error) {
	lookup := r.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	read := r.ReadFile
	if read == nil {
		read = os.ReadFile
	}
	out := Secrets{}
	var missing []string
	for _, ref := range s.Refs() {
		kind, target, ok := ref.Parse()
		if !ok {
			missing = append(missing, fmt.Sprintf("%s: not a secret reference", ref))
			continue
		}
		switch kind {
		case "env":
			v, ok := lookup(target)
			if !ok || v == "" {
				missing = append(missing, fmt.Sprintf("%s: environment variable %s is not set", ref, target))
				continue
			}
			out[ref] = v
		case "file":
			p := target
			if !filepath.IsAbs(p) && r.BaseDir != "" {
				p = filepath.Join(r.BaseDir, p)
			}
			b, err := read(p)
			if err != nil {
				missing = append(missing, fmt.Sprintf("%s: cannot read secret file: %v", ref, unwrapPathErr(err)))
				continue
			}
			v := strings.TrimRight(string(b), "\r\n")
			if v == "" {
				missing = append(missing, fmt.Sprintf("%s: secret file %s is empty", ref, p))
				continue
			}
			out[ref] = v
		}
	}
	if len(missing) > 0 {
		return nil, &SecretError{Missing: missing}
	}
	return out, nil
}

// SecretError lists every secret that could not be resolved.
type SecretError struct{ Missing []string }

func (e *SecretError) Error() string {
	return "unresolved secrets:\n  " + strings.Join(e.Missing, "\n  ")
}

func unwrapPathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	return err
}
