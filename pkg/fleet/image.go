package fleet

import "strings"

// NormalizeImage writes an image reference the way the Docker engine lists
// local images: familiar form ("docker.io/library/x" → "x") with an explicit
// tag (":latest" when none and no digest). Without it, "image: x" would never
// match the locally present "x:latest" and a digest-pinned image never match
// at all. A reference that does not parse is returned unchanged (validation
// reports it).
//
// It follows the grammar of the distribution project's reference package
// ([domain[:port]/]path[:tag][@algorithm:hex]) without its package-level
// regular expressions, which cost every fleetctl start-up a few
// milliseconds.
func NormalizeImage(ref string) string {
	r, ok := parseImage(ref)
	if !ok {
		return ref
	}
	return r.familiar()
}

const (
	hubDomain       = "docker.io"
	legacyHubDomain = "index.docker.io"
	officialPrefix  = "library/"
	maxPathLength   = 255
)

type imageRef struct {
	domain, path, tag, digest string
}

// parseImage splits and checks ref as the engine does, with Docker Hub as
// the default domain and library/ as the default namespace there.
func parseImage(ref string) (imageRef, bool) {
	var r imageRef
	if isLowerHex(ref, 64) { // an image ID, not a name
		return r, false
	}
	name, digest, hasDigest := strings.Cut(ref, "@")
	if hasDigest && !validDigest(digest) {
		return r, false
	}
	r.digest = digest
	first, rest, hasSlash := strings.Cut(name, "/")
	switch {
	case !hasSlash:
		r.domain, r.path = hubDomain, name
	case first == "localhost":
		r.domain, r.path = first, rest
	case first == legacyHubDomain:
		r.domain, r.path = hubDomain, rest
	case strings.ContainsAny(first, ".:") || strings.ToLower(first) != first:
		r.domain, r.path = first, rest
	default:
		r.domain, r.path = hubDomain, name
	}
	path, tag, hasTag := strings.Cut(r.path, ":")
	if hasTag && !validTag(tag) {
		return r, false
	}
	r.path, r.tag = path, tag
	if r.domain == hubDomain && !strings.Contains(r.path, "/") {
		r.path = officialPrefix + r.path
	}
	if !validDomain(r.domain) || !validPath(r.path) || len(r.path) > maxPathLength {
		return r, false
	}
	if r.tag == "" && r.digest == "" {
		r.tag = "latest"
	}
	return r, true
}

// familiar drops Docker Hub's domain and its library/ namespace.
func (r imageRef) familiar() string {
	var b strings.Builder
	path := r.path
	if r.domain == hubDomain {
		if rest, ok := strings.CutPrefix(path, officialPrefix); ok && !strings.Contains(rest, "/") {
			path = rest
		}
	} else {
		b.WriteString(r.domain)
		b.WriteByte('/')
	}
	b.WriteString(path)
	if r.tag != "" {
		b.WriteByte(':')
		b.WriteString(r.tag)
	}
	if r.digest != "" {
		b.WriteByte('@')
		b.WriteString(r.digest)
	}
	return b.String()
}

// validDomain: host[:port], where host is dot-separated labels of letters,
// digits and inner hyphens, or a bracketed IPv6 address.
func validDomain(d string) bool {
	if strings.HasPrefix(d, "[") {
		end := strings.IndexByte(d, ']')
		if end < 0 || !validIPv6(d[1:end]) {
			return false
		}
		port := d[end+1:]
		return port == "" || port[0] == ':' && allDigits(port[1:])
	}
	host, port, hasPort := strings.Cut(d, ":")
	if hasPort && !allDigits(port) {
		return false
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !isAlnum(c) && !isUpper(c) && c != '-' {
				return false
			}
		}
	}
	return true
}

func validIPv6(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isHexDigit(c) && !(c >= 'A' && c <= 'F') && c != ':' {
			return false
		}
	}
	return true
}

// validPath: slash-separated components of lower-case letters and digits,
// joined inside a component by ".", "_", "__" or a run of "-".
func validPath(p string) bool {
	for _, comp := range strings.Split(p, "/") {
		if comp == "" || !isAlnum(comp[0]) || !isAlnum(comp[len(comp)-1]) {
			return false
		}
		for i := 1; i < len(comp); i++ {
			c := comp[i]
			if isAlnum(c) {
				continue
			}
			// A separator: ".", "_", "__" or "-"+, then an alphanumeric.
			j := i
			switch c {
			case '.':
				j++
			case '_':
				j++
				if j < len(comp) && comp[j] == '_' {
					j++
				}
			case '-':
				for j < len(comp) && comp[j] == '-' {
					j++
				}
			default:
				return false
			}
			if j >= len(comp) || !isAlnum(comp[j]) {
				return false
			}
			i = j
		}
	}
	return true
}

// validTag: a word character, then up to 127 word characters, "." or "-".
func validTag(t string) bool {
	if t == "" || len(t) > 128 || t[0] == '.' || t[0] == '-' {
		return false
	}
	for i := 0; i < len(t); i++ {
		if c := t[i]; !isAlnum(c) && !isUpper(c) && c != '_' && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

// validDigest accepts the algorithms the engine knows, with lower-case hex
// of their length.
func validDigest(d string) bool {
	alg, hex, ok := strings.Cut(d, ":")
	if !ok {
		return false
	}
	switch alg {
	case "sha256":
		return isLowerHex(hex, 64)
	case "sha384":
		return isLowerHex(hex, 96)
	case "sha512":
		return isLowerHex(hex, 128)
	}
	return false
}

func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isHexDigit(s[i]) {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool    { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
func isUpper(c byte) bool    { return c >= 'A' && c <= 'Z' }
func isHexDigit(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' }
