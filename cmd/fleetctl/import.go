package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/legacy"
	"github.com/quantabase/fleetctl/pkg/observe"
)

type importFlags struct {
	out     string
	fleet   string
	clients []string
	force   bool
}

func importCmd(env *cliEnv) *cobra.Command {
	var f importFlags
	c := &cobra.Command{
		Use:   "import",
		Short: "write the fleet.yaml that adopts the old scripts' containers",
		Long: "Read the Docker host's openwebui-NAME containers (made by the old start-template.sh) and\n" +
			"write a fleet.yaml reproducing each one: port, domain, name, image, restart policy, OAuth,\n" +
			"database and every extra variable. Secret values become ${env:...} references, listed in\n" +
			"FILE's .secrets.env.example beside it (names only); each container's generated secret key\n" +
			"(/app/backend/.webui_secret_key) is copied out into secrets/NAME.webui_secret_key and\n" +
			"referenced with ${file:...}, so sessions survive the adoption. Then 'fleetctl plan --adopt'\n" +
			"shows one adopt per client, and 'fleetctl apply --adopt' replaces them in place.",
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return status(runImport(c.Context(), env, &f))
		},
	}
	c.Flags().StringVar(&f.out, "out", "fleet.yaml", "write the fleet file to `FILE` (its secrets beside it)")
	c.Flags().StringVar(&f.fleet, "fleet", "quantabase", "the fleet's `NAME` in the written file")
	c.Flags().StringArrayVar(&f.clients, "client", nil, "import only openwebui-`NAME` (repeatable; default: every openwebui-* container)")
	c.Flags().BoolVar(&f.force, "force", false, "overwrite files that already exist")
	return c
}

func runImport(ctx context.Context, env *cliEnv, f *importFlags) int {
	cli, ok := connect(ctx, env)
	if !ok {
		return exitError
	}
	defer cli.Close()
	details, err := cli.InspectNamed(ctx, legacy.ContainerPrefix)
	if err != nil {
		fmt.Fprintf(env.stderr, "Error: %v\n", err)
		return exitError
	}
	details = onlyClients(details, f.clients)
	if len(details) == 0 {
		fmt.Fprintf(env.stderr, "Error: no %s* container to import on %s\n", legacy.ContainerPrefix, cli.Host())
		return exitError
	}
	dir := filepath.Dir(f.out)
	in := legacy.Input{Fleet: f.fleet, Containers: details, Keys: map[string]string{}, NewSeed: randomSeed()}
	_, err = os.Stat(filepath.Join(dir, legacy.SeedFile))
	in.SeedExists = err == nil
	for _, d := range details {
		var key bytes.Buffer
		_, err := cli.CopyFileFromContainer(ctx, d.ID, legacy.SecretKeyFile, &key)
		switch {
		case err == nil:
			in.Keys[d.Name] = key.String()
		case !errors.Is(err, fs.ErrNotExist):
			fmt.Fprintf(env.stderr, "Error: %v\n", err)
			return exitError
		}
	}
	res := legacy.Generate(in)
	if _, err := fleet.Parse(res.YAML, f.out); err != nil {
		fmt.Fprintf(env.stderr, "Error: the imported file does not load (please report):\n%v\n", err)
		return exitError
	}
	example := strings.TrimSuffix(f.out, filepath.Ext(f.out)) + ".secrets.env.example"
	files := map[string]string{f.out: string(res.YAML), example: res.Example}
	for rel, content := range res.Files {
		files[filepath.Join(dir, rel)] = content
	}
	if !f.force {
		for p := range files {
			if _, err := os.Stat(p); err == nil {
				fmt.Fprintf(env.stderr, "Error: %s already exists (--force overwrites it); nothing was written\n", p)
				return exitError
			}
		}
	}
	for p, content := range files {
		if err := writeImported(p, content, p == f.out || p == example); err != nil {
			fmt.Fprintf(env.stderr, "Error: %v\n", err)
			return exitError
		}
	}
	printImport(env, f, res, example)
	return exitOK
}

func onlyClients(ds []observe.ContainerDetail, clients []string) []observe.ContainerDetail {
	if len(clients) == 0 {
		return ds
	}
	want := map[string]bool{}
	for _, c := range clients {
		want[legacy.ContainerPrefix+c] = true
	}
	var out []observe.ContainerDetail
	for _, d := range ds {
		if want[d.Name] {
			out = append(out, d)
		}
	}
	return out
}

// writeImported writes one file; everything but the YAML and the example
// holds a secret (mode 0600, directory 0700).
func writeImported(path, content string, public bool) error {
	mode, dirMode := os.FileMode(0o600), os.FileMode(0o700)
	if public {
		mode, dirMode = 0o644, 0o755
	}
	if err := os.MkdirAll(filepath.Dir(path), dirMode); err != nil {
		return err
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		return err
	}
	return os.Chmod(path, mode)
}

func printImport(env *cliEnv, f *importFlags, res *legacy.Result, example string) {
	out := env.stdout
	fmt.Fprintf(out, "Imported %d client(s) into %s: %s\n", len(res.Clients), f.out, strings.Join(res.Clients, ", "))
	for p := range res.Files {
		if strings.HasPrefix(p, "secrets/") {
			fmt.Fprintf(out, "  secret key kept: %s (mode 0600)\n", filepath.Join(filepath.Dir(f.out), p))
		}
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(out, "  skipped %s\n", s)
	}
	for _, n := range res.Notes {
		fmt.Fprintf(out, "  note: %s\n", n)
	}
	if len(res.Needed) > 0 {
		fmt.Fprintf(out, "Provide these values in fleetctl's environment (listed in %s):\n", example)
		for _, n := range res.Needed {
			fmt.Fprintf(out, "  %s  (%s)\n", n.Env, n.What)
		}
	}
	fmt.Fprintf(out, "Next: fleetctl plan --adopt -f %s (one adopt per client), then fleetctl apply --adopt -f %s\n", f.out, f.out)
}

func randomSeed() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
