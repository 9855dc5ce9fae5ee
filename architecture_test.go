package fleetctl_test

import (
	"bufio"
	"bytes"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
)

// The import graph DESIGN.md asks for, written down so it cannot erode.
// Every package of the module has a role; a role says which roles it may
// import. A new package fails this test until it is given a role here.
const module = "github.com/quantabase/fleetctl/"

type role string

const (
	vocabulary  role = "vocabulary"   // plain data shared by planner and adapters; leaves
	spec        role = "spec"         // the fleet.yaml contract
	planner     role = "planner"      // pure: what to do
	executor    role = "executor"     // walks the plan through interfaces
	adapter     role = "adapter"      // one external system each: how
	wiring      role = "wiring"       // connects adapters to planner and executor
	program     role = "program"      // a main package
	testSupport role = "test support" // starts real systems for tests
	probe       role = "probe"        // asks a running client whether it is up (HTTP, engine state through an interface)
	view        role = "view"         // pure views of spec, snapshot and plan for people (status rows)
)

var roles = map[string]role{
	"schema":                vocabulary,
	"pkg/resource":          vocabulary,
	"pkg/observe":           vocabulary,
	"pkg/redact":            vocabulary,
	"pkg/openwebui":         vocabulary,
	"pkg/fleet":             spec,
	"pkg/plan":              planner,
	"pkg/legacy":            planner,
	"pkg/monitoring":        planner, // pure rendering from the spec, like the planner
	"pkg/apply":             executor,
	"pkg/health":            probe,
	"pkg/status":            view,
	"pkg/docker":            adapter,
	"pkg/pg":                adapter,
	"pkg/nginx":             adapter,
	"pkg/promapi":           adapter,
	"pkg/rendered":          adapter,
	"pkg/migrate":           adapter,
	"pkg/backup/archive":    adapter,
	"pkg/backup":            wiring,
	"pkg/replicate":         adapter,
	"pkg/certify":           wiring,
	"pkg/reconcile":         wiring,
	"pkg/watch":             wiring,
	"cmd/fleetctl":          program,
	"cmd/owui-fixture":      program,
	"cmd/webui-standin":     program,
	"pkg/pg/pgtest":         testSupport,
	"pkg/docker/dockertest": testSupport,
	"pkg/nginx/nginxtest":   testSupport,
	"pkg/migrate/fixture":   testSupport,
}

// mayImport lists, per role, the roles its packages may import. Adapters
// never import each other, the spec or the planner; the planner imports no
// adapter; only wiring and programs see everything.
var mayImport = map[role][]role{
	vocabulary:  {vocabulary},
	spec:        {vocabulary},
	planner:     {spec, vocabulary},
	executor:    {planner, spec, vocabulary, probe},
	adapter:     {vocabulary},
	wiring:      {executor, planner, spec, adapter, wiring, vocabulary, probe, view},
	program:     {wiring, executor, planner, spec, adapter, vocabulary, testSupport, probe, view},
	testSupport: {vocabulary},
	probe:       {vocabulary},
	view:        {planner, spec, vocabulary},
}

// exceptions are the single arrows the roles do not allow.
var exceptions = map[string][]string{
	// The migration engine streams COPY through connections pg opens: the
	// one allowed arrow between adapters.
	"pkg/migrate": {"pkg/pg"},
	// The sync node replicates with the migration's SQLite reading, type
	// mapping and coercion (one implementation: a row reaches PostgreSQL the
	// same way migrated or replicated) over connections pg opens.
	"pkg/replicate": {"pkg/pg", "pkg/migrate"},
	// The monitoring deploy's files are the pure renderer's output: the
	// planner renders them to compare with what is on disk.
	"pkg/plan": {"pkg/monitoring"},
}

// owners are the only packages whose code (tests aside) may import these
// modules: one package per external system (DESIGN.md: "Only one package imports the Docker SDK,
// one imports pgx"). The stand-in is its own program with its own database.
var owners = map[string][]string{
	"github.com/docker/docker":                 {"pkg/docker"},
	"github.com/docker/go-connections":         {"pkg/docker"},
	"github.com/containerd/errdefs":            {"pkg/docker"},
	"github.com/jackc/pgx":                     {"pkg/pg", "pkg/migrate", "pkg/replicate", "cmd/webui-standin"},
	"modernc.org/sqlite":                       {"pkg/migrate", "pkg/migrate/fixture", "pkg/backup/archive", "cmd/webui-standin"},
	"github.com/santhosh-tekuri/jsonschema/v6": {"pkg/fleet"},
	// The command line library stays in the wiring layer.
	"github.com/spf13/cobra": {"cmd/fleetctl"},
	"github.com/spf13/pflag": {"cmd/fleetctl"},
	// pkg/fleet normalizes image references itself (its regexps cost every
	// start-up); only the Docker client brings this module in.
	"github.com/distribution/reference": {"pkg/docker"},
	// The workflow linter is a test dependency only (cmd/fleetctl's
	// ci_lint_test.go): never in a binary.
	"github.com/rhysd/actionlint": {},
	// Dashboards are built with Grafana's typed builders in one place.
	"github.com/grafana/grafana-foundation-sdk/go": {"pkg/monitoring"},
}

type pkgInfo struct {
	path    string
	imports []string
}

func listPackages(t *testing.T) []pkgInfo {
	t.Helper()
	out, err := exec.Command("go", "list", "-f",
		"{{.ImportPath}}|{{join .Imports \" \"}}", module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkgInfo
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		path, imports, ok := strings.Cut(sc.Text(), "|")
		if !ok || !strings.HasPrefix(path+"/", module) {
			continue
		}
		pkgs = append(pkgs, pkgInfo{path: strings.TrimPrefix(strings.TrimPrefix(path, strings.TrimSuffix(module, "/")), "/"), imports: strings.Fields(imports)})
	}
	if len(pkgs) < len(roles)-1 {
		t.Fatalf("go list found %d packages", len(pkgs))
	}
	return pkgs
}

func TestImportGraph(t *testing.T) {
	for _, p := range listPackages(t) {
		r, ok := roles[p.path]
		if !ok {
			if p.path == "" { // this test's own package
				continue
			}
			t.Errorf("%s has no role: add it to roles in architecture_test.go (see DESIGN.md)", p.path)
			continue
		}
		for _, imp := range p.imports {
			if !strings.HasPrefix(imp, module) {
				checkOwner(t, p.path, imp)
				continue
			}
			dep := strings.TrimPrefix(imp, module)
			dr, known := roles[dep]
			switch {
			case !known:
				// reported above as a package without a role
			case slices.Contains(exceptions[p.path], dep):
			case !slices.Contains(mayImport[r], dr):
				t.Errorf("%s (%s) imports %s (%s): not allowed", p.path, r, dep, dr)
			case dr == testSupport && p.path != "cmd/owui-fixture":
				t.Errorf("%s imports %s outside its tests", p.path, dep)
			}
		}
	}
}

func checkOwner(t *testing.T, pkg, imp string) {
	t.Helper()
	for mod, allowed := range owners {
		if (imp == mod || strings.HasPrefix(imp, mod+"/")) && !slices.Contains(allowed, pkg) {
			t.Errorf("%s imports %s: only %v may", pkg, imp, allowed)
		}
	}
}

// The graph has no role without a package (a renamed package would leave
// its rule behind).
func TestImportGraphRolesExist(t *testing.T) {
	have := map[string]bool{}
	for _, p := range listPackages(t) {
		have[p.path] = true
	}
	var stale []string
	for p := range roles {
		if !have[p] {
			stale = append(stale, p)
		}
	}
	sort.Strings(stale)
	if len(stale) > 0 {
		t.Errorf("roles for packages that no longer exist: %v", stale)
	}
}
