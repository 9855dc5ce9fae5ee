package fleet

import (
	"strings"
	"testing"

	"github.com/distribution/reference"
)

func TestNormalizeImage(t *testing.T) {
	for in, want := range map[string]string{
		"fleetctl/webui-standin":                      "fleetctl/webui-standin:latest",
		"fleetctl/webui-standin:dev":                  "fleetctl/webui-standin:dev",
		"docker.io/library/nginx":                     "nginx:latest",
		"docker.io/foo/bar:1":                         "foo/bar:1",
		"index.docker.io/library/nginx:1.25":          "nginx:1.25",
		"ghcr.io/open-webui/open-webui:main":          "ghcr.io/open-webui/open-webui:main",
		"localhost:5000/x/y":                          "localhost:5000/x/y:latest",
		"localhost/x":                                 "localhost/x:latest",
		"x@sha256:" + string(make64('a')):             "x@sha256:" + string(make64('a')),
		"x:v1@sha256:" + string(make64('b')):          "x:v1@sha256:" + string(make64('b')),
		"registry.example.com:443/team/app:v1.2.3-rc": "registry.example.com:443/team/app:v1.2.3-rc",
		"[::1]:5000/app":                              "[::1]:5000/app:latest",
		"Registry/app":                                "Registry/app:latest", // an upper-case first part is a domain
		// Not references: returned unchanged for validation to report.
		"":              "",
		"upper/Case":    "upper/Case",
		"app:bad:tag":   "app:bad:tag",
		"a/-b":          "a/-b",
		"x@sha256:abc":  "x@sha256:abc",
		"host:port/app": "host:port/app",
	} {
		if got := NormalizeImage(in); got != want {
			t.Errorf("NormalizeImage(%q) = %q, want %q", in, got, want)
		}
	}
}

// The normalizer agrees with the distribution project's reference package
// (what the engine and the Docker client use) on every reference of the
// corpus, valid or not.
func TestNormalizeImageAgreesWithReference(t *testing.T) {
	hex64, hex96, hex128 := string(make64('c')), strings.Repeat("d", 96), strings.Repeat("e", 128)
	corpus := []string{
		"nginx", "nginx:latest", "nginx:1.25-alpine", "library/nginx", "docker.io/nginx", "docker.io/library/nginx:1",
		"index.docker.io/nginx", "index.docker.io/foo/bar", "foo/bar", "foo/bar/baz:tag", "a.b/c", "a.b:5000/c/d:e",
		"localhost", "localhost:5000", "localhost/x", "localhost:5000/x:y", "127.0.0.1:5000/app", "[::1]/app", "[::1]:5000/app:t",
		"[fe80::1%eth0]/app", "[]/app", "[::1]x/app", "Foo/bar", "Foo_bar/x", "foo/Bar", "FOO", "a__b", "a___b", "a--b", "a-b-",
		"a..b", "a._b", "a_b.c-d", "_a", "a/", "/a", "a//b", "a:", "a:-t", "a:.t", "a:_t", "a:" + strings.Repeat("t", 128),
		"a:" + strings.Repeat("t", 129), "a@sha256:" + hex64, "a:t@sha256:" + hex64, "a@sha256:" + strings.ToUpper(hex64),
		"a@sha384:" + hex96, "a@sha512:" + hex128, "a@sha256:" + hex64[:63], "a@md5:" + hex64, "a@sha256", "a@@sha256:" + hex64,
		hex64, "sha256:" + hex64, strings.Repeat("a", 255), "x/" + strings.Repeat("a", 254), "x/" + strings.Repeat("a", 260),
		"ghcr.io/open-webui/open-webui:main", "host:port/app", "host:80:90/app", "a.-b/c", "a-.b/c", "-a.b/c", "a.b-/c",
		"UPPER.example.com/x", "münchen/x", "a b", "a\tb", "a/b c", ":tag", "@sha256:" + hex64, "a:t:u",
	}
	for _, in := range corpus {
		if got, want := NormalizeImage(in), upstreamNormalize(in); got != want {
			t.Errorf("NormalizeImage(%q) = %q, reference gives %q", in, got, want)
		}
	}
}

func FuzzNormalizeImage(f *testing.F) {
	for _, s := range []string{"nginx", "a.b:5000/c/d:e@sha256:" + string(make64('a')), "[::1]:5000/app", "Foo/bar", "a__b-c.d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if got, want := NormalizeImage(in), upstreamNormalize(in); got != want {
			t.Errorf("NormalizeImage(%q) = %q, reference gives %q", in, got, want)
		}
	})
}

func upstreamNormalize(ref string) string {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ref
	}
	return reference.FamiliarString(reference.TagNameOnly(named))
}

func make64(c byte) []byte {
	b := make([]byte, 64)
	for i := range b {
		b[i] = c
	}
	return b
}
