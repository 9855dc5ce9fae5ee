package redact

import (
	"net/url"
	"strings"
)

// URL renders one connection string with its password replaced by ****, for
// every output (plan, db show, logs, errors). It does not trust the URL to be
// well formed: with a scheme, everything between the first ':' after "://"
// and the LAST '@' is the password (an unencoded '@', '/' or '#' in a
// password then over-masks instead of leaking); a key=value DSN has its
// password= value masked; a query parameter named password is masked too.
func URL(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return kvPassword().ReplaceAllString(raw, "${1}"+Mask)
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		userinfo, hostpart := rest[:at], rest[at+1:]
		if user, _, hasPw := strings.Cut(userinfo, ":"); hasPw {
			rest = user + ":" + Mask + "@" + hostpart
		}
	}
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		if q, err := url.ParseQuery(rest[i+1:]); err == nil && (q.Has("password") || q.Has("PASSWORD")) {
			rest = rest[:i+1] + maskQuery(rest[i+1:])
		} else if err != nil && strings.Contains(strings.ToLower(rest[i+1:]), "password") {
			rest = rest[:i+1] + Mask
		}
	}
	return scheme + "://" + rest
}

func maskQuery(q string) string {
	parts := strings.Split(q, "&")
	for i, p := range parts {
		k, _, _ := strings.Cut(p, "=")
		if strings.EqualFold(k, "password") {
			parts[i] = k + "=" + Mask
		}
	}
	return strings.Join(parts, "&")
}
