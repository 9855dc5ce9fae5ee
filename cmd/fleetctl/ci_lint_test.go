package main

import (
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"testing"

	"github.com/rhysd/actionlint"
	"gopkg.in/yaml.v3"
)

// The CI examples of examples/ci cannot rot: the GitHub workflow passes
// actionlint (expressions, contexts, action inputs, job dependencies, and
// shellcheck on every run: step when shellcheck is installed, as make test
// has it), and both pipelines call the steps script only with verbs it has,
// each of which the integration test (ci_test.go) runs.

const (
	ciDir      = "../../examples/ci/"
	ciScript   = ciDir + "fleetctl-ci.sh"
	ghWorkflow = ciDir + "github-actions.yml"
	glPipeline = ciDir + "gitlab-ci.yml"
)

func TestCIWorkflowLints(t *testing.T) {
	opts := &actionlint.LinterOptions{}
	if sc, err := exec.LookPath("shellcheck"); err == nil {
		opts.Shellcheck = sc
	} else {
		t.Log("shellcheck is not installed: the run: steps are linted without it")
	}
	var out bytes.Buffer
	l, err := actionlint.NewLinter(&out, opts)
	if err != nil {
		t.Fatal(err)
	}
	errs, err := l.LintFile(ghWorkflow, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range errs {
		t.Errorf("%s:%d:%d: %s [%s]", ghWorkflow, e.Line, e.Column, e.Message, e.Kind)
	}
}

var ciStep = regexp.MustCompile(`fleetctl-ci\.sh\s+([a-z-]+)`)

// Every call of the script in a pipeline names one of its verbs, and each
// pipeline calls plan and apply.
func TestCIPipelinesCallTheScript(t *testing.T) {
	script, err := os.ReadFile(ciScript)
	if err != nil {
		t.Fatal(err)
	}
	verbs := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^  ([a-z-]+)\) cmd_`).FindAllSubmatch(script, -1) {
		verbs[string(m[1])] = true
	}
	if len(verbs) < 3 {
		t.Fatalf("the script's verbs: %v", verbs)
	}
	for _, file := range []string{ghWorkflow, glPipeline} {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		var called []string
		walkScalars(&doc, func(n *yaml.Node) {
			for _, m := range ciStep.FindAllStringSubmatch(n.Value, -1) {
				if !verbs[m[1]] {
					t.Errorf("%s:%d: fleetctl-ci.sh has no verb %q", file, n.Line, m[1])
				}
				called = append(called, m[1])
			}
		})
		sort.Strings(called)
		for _, want := range []string{"apply", "plan", "ssh-setup"} {
			if !slices.Contains(called, want) {
				t.Errorf("%s never calls fleetctl-ci.sh %s (calls %v)", file, want, called)
			}
		}
	}
}

func walkScalars(n *yaml.Node, f func(*yaml.Node)) {
	if n.Kind == yaml.ScalarNode {
		f(n)
	}
	for _, c := range n.Content {
		walkScalars(c, f)
	}
}
