package fleet

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

var (
	dnsLabelRe = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	// safeText is what may reach a container name, a label or an nginx file.
	unsafeText = regexp.MustCompile("[\\x00-\\x1f\\x7f\"'`;{}\\\\$<> ]")
)

// FuzzParse: Parse never panics or hangs; it returns a spec or *Diagnostics,
// never both or neither; every diagnostic has a position; an accepted spec
// holds only safe names and survives a YAML round trip unchanged.
func FuzzParse(f *testing.F) {
	seeds := exampleFleets(f)
	for _, dir := range []string{goodDir, badDir} {
		files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
		if err != nil || len(files) == 0 {
			f.Fatalf("no seeds in %s: %v", dir, err)
		}
		seeds = append(seeds, files...)
	}
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{billionLaughs, hdr + one, "a: &a [*a]\n", "a: &a\n  <<: *a\n", "---\n", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		spec, err := Parse(data, "fuzz.yaml")
		if (spec == nil) == (err == nil) {
			t.Fatalf("spec %v with error %v", spec != nil, err)
		}
		if err != nil {
			var ds *Diagnostics
			if !errors.As(err, &ds) || len(*ds) == 0 {
				t.Fatalf("error %T %v is not a non-empty *Diagnostics", err, err)
			}
			for _, d := range *ds {
				if d.Line < 1 || d.File != "fuzz.yaml" || d.Message == "" {
					t.Errorf("bad diagnostic %+v", d)
				}
				if strings.Contains(d.Message, "internal error") {
					t.Errorf("internal error: %+v", d)
				}
				if strings.ContainsAny(d.String(), "\n\r") {
					t.Errorf("multi-line diagnostic %q", d.String())
				}
			}
			return
		}
		checkSafe(t, spec)
		roundTrip(t, spec)
	})
}

func checkSafe(t *testing.T, spec *Spec) {
	t.Helper()
	if !dnsLabelRe.MatchString(spec.Fleet) {
		t.Errorf("fleet %q accepted", spec.Fleet)
	}
	for i := range spec.Clients {
		c := &spec.Clients[i]
		if !dnsLabelRe.MatchString(c.Name) || c.Port < 1024 || c.Port > 65535 {
			t.Errorf("client %q port %d accepted", c.Name, c.Port)
		}
		for _, s := range []string{c.Domain, c.DisplayName, c.Image, c.BindAddress, c.HealthCheck.Path, spec.ContainerName(c), spec.VolumeName(c)} {
			if unsafeText.MatchString(s) && s != c.DisplayName {
				t.Errorf("unsafe value %q accepted", s)
			}
		}
		if !dockerName().MatchString(spec.ContainerName(c)) || !dockerName().MatchString(spec.VolumeName(c)) {
			t.Errorf("bad object names %q %q", spec.ContainerName(c), spec.VolumeName(c))
		}
		for k, v := range c.Env {
			if strings.ContainsAny(k+v, "\x00\n\r") || managedEnv[k] != "" {
				t.Errorf("env %q=%q accepted", k, v)
			}
		}
	}
}

// roundTrip marshals a loaded spec and loads it again: defaulting must be
// idempotent and everything fleetctl writes must be valid input.
func roundTrip(t *testing.T, spec *Spec) {
	t.Helper()
	out, err := yaml.Marshal(spec)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	again, err := Parse(out, "again.yaml")
	if err != nil {
		t.Fatalf("re-parse of\n%s\nfailed: %v", out, err)
	}
	a, b := *spec, *again
	a.Digest, b.Digest = "", ""
	a.Warnings, b.Warnings = nil, nil // positions differ in the re-marshalled file
	a.Clients = append([]Client(nil), a.Clients...)
	b.Clients = append([]Client(nil), b.Clients...)
	for i := range a.Clients {
		a.Clients[i].Line, a.Clients[i].Column = 0, 0
	}
	for i := range b.Clients {
		b.Clients[i].Line, b.Clients[i].Column = 0, 0
	}
	if !reflect.DeepEqual(normalize(a), normalize(b)) {
		t.Errorf("round trip changed the spec:\n%s", out)
	}
}

// normalize treats an empty map or list like an absent one (omitempty).
func normalize(s Spec) Spec {
	if len(s.Defaults.Env) == 0 {
		s.Defaults.Env = nil
	}
	for i := range s.Clients {
		if len(s.Clients[i].Env) == 0 {
			s.Clients[i].Env = nil
		}
		if o := s.Clients[i].OAuth; o != nil && len(o.AllowedDomains) == 0 {
			o.AllowedDomains = nil
		}
	}
	if o := s.Defaults.OAuth; o != nil && len(o.AllowedDomains) == 0 {
		o.AllowedDomains = nil
	}
	return s
}
