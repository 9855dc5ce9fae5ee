package fleet

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/quantabase/fleetctl/pkg/redact"
)

// SecretRef is a reference to a secret: "${env:NAME}" or "${file:PATH}".
// The zero value means "not set". Its String form is the reference itself,
// never the value, so it is safe to print.
type SecretRef string

var secretRefRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\$\{(env|file):([^{}\s]+)\}$`) })

// IsZero reports whether the reference is unset.
func (r SecretRef) IsZero() bool { return r == "" }

// IsRef reports whether r is a well-formed reference (env values may be
// either literals or references).
func (r SecretRef) IsRef() bool { _, _, ok := r.Parse(); return ok }

// Parse splits the reference into its kind ("env" or "file") and target.
func (r SecretRef) Parse() (kind, target string, ok bool) {
	m := secretRefRe().FindStringSubmatch(string(r))
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// Secrets maps each reference to its resolved value.
type Secrets map[SecretRef]string

// Value returns the resolved value of ref ("" when unset).
func (s Secrets) Value(ref SecretRef) string { return s[ref] }

// Masker returns a masker that knows every resolved value, and the derived
// values given (a client's WEBUI_SECRET_KEY derived from the seed, a URL
// built around a password): see pkg/redact for where it travels.
func (s Secrets) Masker(derived ...string) *redact.Masker {
	vals := make([]string, 0, len(s)+len(derived))
	for _, v := range s {
		vals = append(vals, v)
	}
	return redact.New(append(vals, derived...)...)
}

// Resolver reads secret sources; the zero value reads the process
// environment and the file system.
type Resolver struct {
	LookupEnv func(string) (string, bool)
	ReadFile  func(string) ([]byte, error)
	// BaseDir resolves relative ${file:} paths (the directory of fleet.yaml).
	BaseDir string
}

// MaxSecretSize bounds one secret value. Secrets are keys, tokens,
// passwords and connection strings; 64 KiB is plenty, and it stays below the
// 128 KiB the Linux kernel allows one environment string (MAX_ARG_STRLEN).
const MaxSecretSize = 64 << 10

// Refs lists every secret reference the spec uses, sorted and unique.
func (s *Spec) Refs() []SecretRef {
	uses := s.refUses()
	out := make([]SecretRef, 0, len(uses))
	for r := range uses {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// refUses maps each reference to whether a value of it leaves fleetctl
// (container env, a database URL) rather than only keying the HMAC that
// derives secret keys (secretKeySeed).
func (s *Spec) refUses() map[SecretRef]bool {
	uses := map[SecretRef]bool{}
	add := func(r SecretRef, leaves bool) {
		if !r.IsZero() {
			uses[r] = uses[r] || leaves
		}
	}
	add(s.SecretKeySeed, false)
	addOAuth := func(o *OAuth) {
		if o != nil && o.Google != nil {
			add(o.Google.ClientSecret, true)
		}
	}
	addOAuth(s.Defaults.OAuth)
	if s.Backups != nil && s.Backups.Restic != nil {
		add(s.Backups.Restic.Password, true)
	}
	s.hostRefs(add) // hosts.go
	if y := s.Sync; y != nil {
		add(y.Target.URL, true)
		add(y.AdminToken, true)
		if y.Target.Supabase != nil {
			add(y.Target.Supabase.Password, true)
		}
	}
	if m := s.Monitoring; m != nil && m.Deploy {
		// Only a deployed Grafana needs its password resolved.
		add(m.Grafana.AdminPassword, true)
	}
	for i := range s.Clients {
		c := &s.Clients[i]
		add(c.SecretKey, true)
		addOAuth(c.OAuth)
		for _, v := range c.Env {
			if r := SecretRef(v); r.IsRef() {
				add(r, true)
			}
		}
		if c.Database != nil {
			add(c.Database.URL, true)
			if c.Database.Supabase != nil {
				add(c.Database.Supabase.Password, true)
			}
		}
	}
	return uses
}

// Resolve reads every secret the spec references. All problems are reported
// at once, each by its reference (never by a value). It refuses, before
// anything else happens, a value that a consumer would refuse or alter:
// a NUL byte (runc refuses it in an environment value, and quotes the whole
// NAME=value pair in its error; libpq ends a connection string at it) and
// bytes that are not UTF-8 (the Docker API is JSON, which would replace them
// with U+FFFD). The secretKeySeed only keys an HMAC, so it may be any bytes.
// A ${file:} secret must be a regular file (a FIFO would block, a device
// flood) of at most MaxSecretSize bytes.
func (r Resolver) Resolve(s *Spec) (Secrets, error) {
	out, missing := r.resolve(s)
	if missing != nil {
		return nil, missing
	}
	return out, nil
}

// resolve reads every reference it can; the error lists the others (nil when
// there are none).
func (r Resolver) resolve(s *Spec) (Secrets, *SecretError) {
	lookup := r.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	read := r.ReadFile
	if read == nil {
		read = func(p string) ([]byte, error) { return readRegular(p, MaxSecretSize, false) }
	}
	uses := s.refUses()
	out := Secrets{}
	var missing []string
	var refs []SecretRef
	miss := func(ref SecretRef, msg string) {
		missing, refs = append(missing, string(ref)+": "+msg), append(refs, ref)
	}
	for _, ref := range s.Refs() {
		kind, target, ok := ref.Parse()
		if !ok {
			miss(ref, "not a secret reference")
			continue
		}
		var v string
		switch kind {
		case "env":
			ev, ok := lookup(target)
			if !ok || ev == "" {
				miss(ref, "environment variable "+target+" is not set")
				continue
			}
			v = ev
		case "file":
			p := target
			if !filepath.IsAbs(p) && r.BaseDir != "" {
				p = filepath.Join(r.BaseDir, p)
			}
			b, err := read(p)
			if err != nil {
				miss(ref, fmt.Sprintf("cannot read secret file: %v", unwrapPathErr(err)))
				continue
			}
			v = strings.TrimRight(string(b), "\r\n")
			if v == "" {
				miss(ref, "secret file "+p+" is empty")
				continue
			}
		}
		if msg := checkValue(v, uses[ref]); msg != "" {
			miss(ref, msg)
			continue
		}
		out[ref] = v
	}
	if len(missing) > 0 {
		return out, &SecretError{Missing: missing, Refs: refs}
	}
	return out, nil
}

// checkValue says why a resolved value cannot be used ("" when it can),
// without quoting any of it.
func checkValue(v string, leaves bool) string {
	switch {
	case len(v) > MaxSecretSize:
		return fmt.Sprintf("the secret is %d bytes, more than the limit of %s", len(v), sizeText(MaxSecretSize))
	case !leaves:
		return ""
	case strings.IndexByte(v, 0) >= 0:
		return "the secret contains a NUL byte (\\x00), which no container environment or PostgreSQL connection string can carry; remove it"
	case !utf8.ValidString(v):
		return "the secret is not valid UTF-8 text; the Docker API (JSON) would silently change it, so it is refused"
	}
	return ""
}

// SecretError lists every secret that could not be resolved.
type SecretError struct {
	Missing []string    // one message per reference, naming it (never a value)
	Refs    []SecretRef // the references, in the order of Missing
}

func (e *SecretError) Error() string {
	return "unresolved secrets:\n  " + strings.Join(e.Missing, "\n  ")
}

func unwrapPathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	return err
}
