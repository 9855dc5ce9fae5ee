package fleet

import "testing"

func TestNormalizeImage(t *testing.T) {
	for in, want := range map[string]string{
		"fleetctl/webui-standin":                      "fleetctl/webui-standin:latest",
		"fleetctl/webui-standin:dev":                  "fleetctl/webui-standin:dev",
		"docker.io/library/nginx":                     "nginx:latest",
		"docker.io/foo/bar:1":                         "foo/bar:1",
		"ghcr.io/open-webui/open-webui:main":          "ghcr.io/open-webui/open-webui:main",
		"localhost:5000/x/y":                          "localhost:5000/x/y:latest",
		"x@sha256:" + string(make64('a')):             "x@sha256:" + string(make64('a')),
		"registry.example.com:443/team/app:v1.2.3-rc": "registry.example.com:443/team/app:v1.2.3-rc",
	} {
		if got := NormalizeImage(in); got != want {
			t.Errorf("NormalizeImage(%q) = %q, want %q", in, got, want)
		}
	}
}

func make64(c byte) []byte {
	b := make([]byte, 64)
	for i := range b {
		b[i] = c
	}
	return b
}
