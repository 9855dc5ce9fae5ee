package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/monitoring"
	"github.com/quantabase/fleetctl/pkg/promapi"
)

// renderedFile is one file in `monitoring render --json`.
type renderedFile struct {
	Path string `json:"path"`
	// Change is create, update or none.
	Change  string `json:"change"`
	Changed bool   `json:"changed"`
	old     []byte
	data    []byte
}

type renderOpts struct {
	file, out, reload string
	check, asJSON     bool
}

func monitoringCmd(env *cliEnv) *cobra.Command {
	c := group(env, &cobra.Command{
		Use:   "monitoring",
		Short: "Prometheus and Grafana files rendered from fleet.yaml",
	})
	var o renderOpts
	render := &cobra.Command{
		Use:   "render",
		Short: "write prometheus.yml, alert rules, Grafana provisioning and dashboards for the fleet",
		Long: "Write, under --out, prometheus/prometheus.yml and prometheus/alerts.yml, Grafana's\n" +
			"provisioning (grafana/provisioning/) and the dashboards grafana/dashboards/sync-clusters.json\n" +
			"and fleet-overview.json, all rendered from fleet.yaml. Unchanged files are left alone.\n" +
			"--check writes nothing and exits 2 when a file would change (0 when none would).\n" +
			"--reload URL asks that Prometheus to reload when one of its files changed.\n" +
			"Needs neither Docker nor secrets.",
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return status(runMonitoringRender(c.Context(), env, o))
		},
	}
	fileFlag(render, &o.file)
	jsonFlag(render, &o.asJSON)
	render.Flags().StringVar(&o.out, "out", "monitoring", "write the files under `DIR`")
	render.Flags().BoolVar(&o.check, "check", false, "write nothing; show what would change and exit 2 if anything would")
	render.Flags().StringVar(&o.reload, "reload", "", "after a change of prometheus/, POST /-/reload to the Prometheus at `URL` (started with --web.enable-lifecycle)")
	c.AddCommand(render)
	return c
}

func runMonitoringRender(ctx context.Context, env *cliEnv, o renderOpts) int {
	spec, ok := loadSpec(env, o.file, o.asJSON)
	if !ok {
		return exitError
	}
	if o.check && o.reload != "" {
		fmt.Fprintln(env.stderr, "Error: --check writes nothing, so there is nothing to --reload")
		return exitError
	}
	rendered, err := monitoring.Render(monitoring.Input{Spec: spec, Sync: monitoring.SyncClusters(spec)})
	if err != nil {
		fmt.Fprintf(env.stderr, "Error: %v\n", err)
		return exitError
	}
	files, err := compareRendered(o.out, rendered)
	if err != nil {
		fmt.Fprintf(env.stderr, "Error: %v\n", err)
		return exitError
	}
	changed, promChanged := 0, false
	for _, f := range files {
		if f.Changed {
			changed++
			promChanged = promChanged || strings.HasPrefix(filepath.ToSlash(f.Path), filepath.ToSlash(filepath.Join(o.out, "prometheus"))+"/")
		}
	}
	if !o.check {
		for _, f := range files {
			if err := writeRendered(f); err != nil {
				fmt.Fprintf(env.stderr, "Error: %v\n", err)
				return exitError
			}
		}
	}
	reloaded := false
	if o.reload != "" && promChanged {
		if err := promapi.Reload(ctx, o.reload); err != nil {
			fmt.Fprintf(env.stderr, "Error: files written, but %v\n", err)
			return exitError
		}
		reloaded = true
	}
	code := exitOK
	if o.check && changed > 0 {
		code = exitChanges
	}
	if o.asJSON {
		writeJSON(env, map[string]any{"fleet": spec.Fleet, "files": files, "check": o.check, "reloaded": reloaded})
		return code
	}
	for _, f := range files {
		fmt.Fprintf(env.stdout, "%s %s\n", map[string]string{"create": "+", "update": "~", "none": "="}[f.Change], f.Path)
		if o.check && f.Change == "update" {
			fmt.Fprint(env.stdout, indent(fleet.Diff(f.Path, f.old, f.data)))
		}
	}
	verb := "Rendered"
	if o.check {
		verb = "Checked"
	}
	fmt.Fprintf(env.stdout, "%s %d files for fleet %s, %d changed.\n", verb, len(files), spec.Fleet, changed)
	if reloaded {
		fmt.Fprintf(env.stdout, "Prometheus at %s reloaded.\n", o.reload)
	}
	return code
}

// compareRendered reads what is under out now and says what each file's
// rendering would change.
func compareRendered(out string, rendered []monitoring.File) ([]renderedFile, error) {
	var files []renderedFile
	for _, r := range rendered {
		f := renderedFile{Path: filepath.Join(out, filepath.FromSlash(r.Path)), data: r.Data, Change: "create", Changed: true}
		old, err := os.ReadFile(f.Path)
		switch {
		case err == nil && bytes.Equal(old, r.Data):
			f.Change, f.Changed = "none", false
		case err == nil:
			f.Change, f.old = "update", old
		case !errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("render monitoring: %w", err)
		}
		files = append(files, f)
	}
	return files, nil
}

// writeRendered writes a changed file atomically.
func writeRendered(f renderedFile) error {
	if !f.Changed {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(f.Path), 0o755); err != nil {
		return fmt.Errorf("render monitoring: %w", err)
	}
	if err := fleet.WriteFileAtomic(f.Path, f.data); err != nil {
		return fmt.Errorf("render monitoring: %w", err)
	}
	return nil
}

func indent(s string) string {
	if s == "" {
		return ""
	}
	return "    " + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n    ") + "\n"
}
