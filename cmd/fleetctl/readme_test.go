package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

var update = flag.Bool("update", false, "rewrite the README's command reference from the command tree")

const (
	readmePath  = "../../README.md"
	readmeBegin = "<!-- commands: generated from the command tree by `go test ./cmd/fleetctl -run TestREADMECommands -update`; do not edit -->\n"
	readmeEnd   = "<!-- commands: end -->\n"
)

// TestREADMECommands keeps the README's command list and flag table equal
// to the command tree, so --help and the README cannot drift.
func TestREADMECommands(t *testing.T) {
	b, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	i, j := strings.Index(readme, readmeBegin), strings.Index(readme, readmeEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md has no generated command block (%q ... %q)", readmeBegin, readmeEnd)
	}
	want := commandReference(t)
	got := readme[i+len(readmeBegin) : j]
	if got == want {
		return
	}
	if *update {
		if err := os.WriteFile(readmePath, []byte(readme[:i+len(readmeBegin)]+want+readme[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md's command reference differs from the command tree; run\n  go test ./cmd/fleetctl -run TestREADMECommands -update\n--- README\n%s\n--- command tree\n%s", got, want)
}

// commandReference renders one synopsis line per verb, then every distinct
// flag once: its verbs and its meaning.
func commandReference(t *testing.T) string {
	t.Setenv("XDG_STATE_HOME", "") // the default backup dir is then under $HOME, shown as ~
	home, _ := os.UserHomeDir()
	root := newRoot(&cliEnv{stdin: strings.NewReader(""), stdout: new(strings.Builder), stderr: new(strings.Builder)})

	type row struct {
		name, flag, meaning string
		verbs               []string
	}
	var rows []*row
	byKey := map[string]*row{}
	var synopses []string
	walk(root, func(c *cobra.Command) {
		if !c.Runnable() || c.HasSubCommands() || c.Name() == "help" {
			return
		}
		verb := strings.TrimPrefix(c.CommandPath(), "fleetctl ")
		line := "fleetctl " + verb + strings.TrimPrefix(c.Use, c.Name())
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if f.Hidden || f.Name == "help" {
				return
			}
			inUse := strings.Contains(c.Use, "--"+f.Name) // a required switch, spelled in Use
			name, usage := pflag.UnquoteUsage(f)
			spelled := "--" + f.Name
			if f.Shorthand != "" {
				spelled = "-" + f.Shorthand
			}
			if name != "" {
				spelled += " " + name
			}
			switch {
			case inUse:
			case f.Value.Type() == "stringArray":
				line += " [" + spelled + "]..."
			case isCount(f):
				line += " [" + spelled + "]..."
			default:
				line += " [" + spelled + "]"
			}
			long := "--" + f.Name
			if f.Shorthand != "" {
				long = "-" + f.Shorthand + ", " + long
			}
			if name != "" {
				long += " " + name
			}
			meaning := usage
			if def := f.DefValue; def != "" && def != "false" && def != "0" && def != "[]" {
				if home != "" {
					def = strings.Replace(def, home, "~", 1)
				}
				meaning += fmt.Sprintf(" (default `%s`)", def)
			}
			key := long + "\x00" + meaning
			r := byKey[key]
			if r == nil {
				r = &row{name: f.Name, flag: long, meaning: meaning}
				byKey[key] = r
				rows = append(rows, r)
			}
			r.verbs = append(r.verbs, verb)
		})
		synopses = append(synopses, line)
	})
	sort.SliceStable(rows, func(a, b int) bool { return rows[a].name < rows[b].name })

	var b strings.Builder
	b.WriteString("```\n")
	for _, s := range synopses {
		b.WriteString(s + "\n")
	}
	b.WriteString("```\n\n| flag | verbs | meaning |\n|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", r.flag, strings.Join(r.verbs, ", "), r.meaning)
	}
	return b.String()
}

func isCount(f *pflag.Flag) bool {
	_, ok := f.Value.(*countFlag)
	return ok
}

// walk visits c and every available command below it, in help's order.
func walk(c *cobra.Command, visit func(*cobra.Command)) {
	visit(c)
	for _, sub := range c.Commands() {
		if sub.IsAvailableCommand() || sub.Name() == "help" {
			walk(sub, visit)
		}
	}
}
