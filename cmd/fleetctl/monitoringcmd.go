package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/monitoring"
)

// renderedFile is one file in `monitoring render --json`.
type renderedFile struct {
	Path    string `json:"path"`
	Changed bool   `json:"changed"`
}

func monitoringCmd(env *cliEnv) *cobra.Command {
	c := group(env, &cobra.Command{
		Use:   "monitoring",
		Short: "Prometheus and Grafana files rendered from fleet.yaml",
	})
	var file, out string
	var asJSON bool
	render := &cobra.Command{
		Use:   "render",
		Short: "write prometheus.yml, alert rules, Grafana provisioning and dashboards for the fleet",
		Long: "Write, under --out, prometheus/prometheus.yml and prometheus/alerts.yml, Grafana's\n" +
			"provisioning (grafana/provisioning/) and the dashboards grafana/dashboards/sync-clusters.json\n" +
			"and fleet-overview.json, all rendered from fleet.yaml. Unchanged files are left alone.\n" +
			"Needs neither Docker nor secrets.",
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return status(runMonitoringRender(env, file, out, asJSON))
		},
	}
	fileFlag(render, &file)
	jsonFlag(render, &asJSON)
	render.Flags().StringVar(&out, "out", "monitoring", "write the files under `DIR`")
	c.AddCommand(render)
	return c
}

func runMonitoringRender(env *cliEnv, file, out string, asJSON bool) int {
	spec, ok := loadSpec(env, file, asJSON)
	if !ok {
		return exitError
	}
	files, err := monitoring.Render(monitoring.Input{Spec: spec, Sync: monitoring.SyncClusters(spec)})
	if err != nil {
		fmt.Fprintf(env.stderr, "Error: %v\n", err)
		return exitError
	}
	var done []renderedFile
	for _, f := range files {
		changed, err := writeIfChanged(filepath.Join(out, filepath.FromSlash(f.Path)), f.Data)
		if err != nil {
			fmt.Fprintf(env.stderr, "Error: %v\n", err)
			return exitError
		}
		done = append(done, renderedFile{Path: filepath.Join(out, filepath.FromSlash(f.Path)), Changed: changed})
	}
	if asJSON {
		return writeJSON(env, map[string]any{"fleet": spec.Fleet, "files": done})
	}
	n := 0
	for _, f := range done {
		mark := "="
		if f.Changed {
			mark, n = "~", n+1
		}
		fmt.Fprintf(env.stdout, "%s %s\n", mark, f.Path)
	}
	fmt.Fprintf(env.stdout, "Rendered %d files for fleet %s, %d changed.\n", len(done), spec.Fleet, n)
	return exitOK
}

// writeIfChanged writes data to path atomically unless it already holds it.
func writeIfChanged(path string, data []byte) (bool, error) {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return false, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return false, fmt.Errorf("render monitoring: %w", err)
	}
	if err := fleet.WriteFileAtomic(path, data); err != nil {
		return false, fmt.Errorf("render monitoring: %w", err)
	}
	return true, nil
}
