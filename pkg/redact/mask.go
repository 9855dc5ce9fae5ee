package redact

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Sensitive replaces a known secret value; Mask replaces a URL's or a DSN's
// password (known or not).
const (
	Sensitive = "(sensitive)"
	Mask      = "****"
)

// Masker replaces known secret values, and URL and DSN passwords, in text.
// It is immutable and safe for concurrent use. The nil *Masker masks shapes
// (passwords in URLs and DSNs) only. The replacer is built on first use: a
// pass that never has an error to mask never pays for it (for 10,000
// clients, one derived key each, building it takes tens of milliseconds).
type Masker struct {
	secrets []string
	r       func() *strings.Replacer
}

// New returns a masker for the given secret values (empty ones are ignored).
func New(secrets ...string) *Masker {
	var kept []string
	for _, s := range secrets {
		if s != "" {
			kept = append(kept, s)
		}
	}
	kept = slices.Compact(slices.Sorted(slices.Values(kept)))
	return &Masker{secrets: kept, r: sync.OnceValue(func() *strings.Replacer { return replacer(kept) })}
}

// replacer replaces every variant of every secret by Sensitive (nil when
// there is nothing to replace).
func replacer(secrets []string) *strings.Replacer {
	seen := map[string]bool{}
	for _, s := range secrets {
		for _, v := range variants(s) {
			if v != "" {
				seen[v] = true
			}
		}
	}
	if len(seen) == 0 {
		return nil
	}
	olds := make([]string, 0, len(seen))
	for v := range seen {
		olds = append(olds, v)
	}
	// strings.Replacer tries candidates in argument order at each position:
	// longest first, so a URL that is a secret is masked whole, not only the
	// password inside it that is a secret too.
	sort.Slice(olds, func(i, j int) bool {
		if len(olds[i]) != len(olds[j]) {
			return len(olds[i]) > len(olds[j])
		}
		return olds[i] < olds[j]
	})
	pairs := make([]string, 0, 2*len(olds))
	for _, v := range olds {
		pairs = append(pairs, v, Sensitive)
	}
	return strings.NewReplacer(pairs...)
}

// With returns a masker that also knows more (m itself when there is nothing
// new), for an adapter that holds a secret of its own, such as the password
// of the connection string it was handed.
func (m *Masker) With(more ...string) *Masker {
	var have []string
	if m != nil {
		have = m.secrets
	}
	for _, s := range more {
		if s != "" && !slices.Contains(have, s) {
			return New(append(slices.Clone(have), more...)...)
		}
	}
	return m
}

// variants lists the spellings of s that other systems print: as it is,
// Go/C-quoted (runc and Docker quote env pairs with %q), JSON-escaped (with
// and without HTML escaping), %-encoded the three usual ways, upper- and
// lower-case hex, and SQL-quoted (PostgreSQL doubles single quotes).
func variants(s string) []string {
	out := []string{s, unquote(strconv.Quote(s)), unquote(strconv.QuoteToASCII(s)), url.QueryEscape(s), url.PathEscape(s)}
	if b, err := json.Marshal(s); err == nil {
		out = append(out, unquote(string(b)))
	}
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	if enc.Encode(s) == nil {
		out = append(out, unquote(strings.TrimSuffix(sb.String(), "\n")))
	}
	pct := PercentEncode(s)
	out = append(out, pct, lowerHex(pct), strings.ReplaceAll(s, "'", "''"))
	return out
}

func unquote(q string) string {
	if len(q) >= 2 {
		return q[1 : len(q)-1]
	}
	return q
}

// PercentEncode %-encodes every byte except RFC 3986's unreserved characters:
// how fleetctl writes a password into a URL (fleet.SupabaseURL, so any
// character survives every URL parser), and so one of the spellings the
// masker looks for.
func PercentEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// lowerHex lower-cases the hex digits of every %XX in s.
func lowerHex(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			for j := i + 1; j <= i+2; j++ {
				if 'A' <= b[j] && b[j] <= 'F' {
					b[j] += 'a' - 'A'
				}
			}
		}
	}
	return string(b)
}

// String masks s.
func (m *Masker) String(s string) string {
	if m != nil && m.r != nil {
		if r := m.r(); r != nil {
			s = r.Replace(s)
		}
	}
	return Passwords(s)
}

// Error returns err with its message masked. When nothing needed masking it
// is err itself; otherwise a new error whose Error() is the masked text and
// for which errors.Is still sees through to err (errors.As and Unwrap do not:
// they would hand out the unmasked original).
func (m *Masker) Error(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	masked := m.String(msg)
	if masked == msg {
		return err
	}
	return &maskedError{msg: masked, err: err}
}

type maskedError struct {
	msg string
	err error
}

func (e *maskedError) Error() string { return e.msg }

// Is keeps sentinel checks (errors.Is(err, docker.ErrNameInUse)) working.
func (e *maskedError) Is(target error) bool { return errors.Is(e.err, target) }

// The patterns are compiled on first use: a process that never masks
// anything (fleetctl version) does not pay for them at start-up.
var (
	// urlPassword finds scheme://user:PASSWORD@ in free text. The password
	// runs to the LAST '@' before a space or quote, so an unencoded '@' or '/'
	// in it over-masks instead of leaking.
	urlPassword = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://[^\s:/@"'<>]*:)[^\s"'<>]*@`)
	})
	// kvPassword finds password=VALUE in a key=value DSN or a log line.
	kvPassword = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)
	})
)

// Passwords masks the shape of a password wherever it appears in s: in
// scheme://user:password@host and in password=value.
func Passwords(s string) string {
	if !strings.Contains(s, "@") && !strings.Contains(strings.ToLower(s), "password") {
		return s // the common case: no regexp work
	}
	s = urlPassword().ReplaceAllString(s, "${1}"+Mask+"@")
	return kvPassword().ReplaceAllString(s, "${1}"+Mask)
}

type ctxKey struct{}

// NewContext returns a context that carries m to every adapter call made
// with it.
func NewContext(ctx context.Context, m *Masker) context.Context {
	return context.WithValue(ctx, ctxKey{}, m)
}

// FromContext returns the masker ctx carries, or nil (which masks shapes
// only). Either way the result is ready to use.
func FromContext(ctx context.Context) *Masker {
	m, _ := ctx.Value(ctxKey{}).(*Masker)
	return m
}
