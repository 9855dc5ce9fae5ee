package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/quantabase/fleetctl/pkg/backup"
	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/plan"
)

type destroyFlags struct {
	opsFlags
	yes        bool
	deleteData bool
	noBackup   bool
}

func destroyCmd(env *cliEnv) *cobra.Command {
	var f destroyFlags
	c := &cobra.Command{
		Use:   "destroy CLIENT",
		Short: "remove a client: its container, its site file and its fleet.yaml entry (the volume is kept)",
		Long: "Show what goes (the client's container, a parked .previous one, its nginx site file) and, once\n" +
			"the client's name is typed to confirm (or with --yes), remove its entry from fleet.yaml\n" +
			"(comments and layout of the rest kept, the diff printed) and apply that under the fleet's lock.\n" +
			"The data volume is kept unless --delete-data: then a fresh backup is taken and verified first\n" +
			"(as 'fleetctl backup' does; --no-backup skips it), and the plan says DATA WILL BE DELETED.",
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("%s takes exactly one CLIENT", c.CommandPath())
			}
			return nil
		},
		ValidArgsFunction: completeClients,
		RunE: func(c *cobra.Command, args []string) error {
			return status(runDestroy(c.Context(), env, &f, args[0]))
		},
	}
	f.register(c, false)
	c.Flags().BoolVar(&f.yes, "yes", false, "do not ask for the client's name to confirm")
	c.Flags().BoolVar(&f.deleteData, "delete-data", false, "also remove the data volume, after a fresh verified backup")
	c.Flags().BoolVar(&f.noBackup, "no-backup", false, "with --delete-data: delete without taking a backup first")
	return c
}

func runDestroy(ctx context.Context, env *cliEnv, f *destroyFlags, name string) int {
	spec, ok := loadSpec(env, f.file, f.asJSON)
	if !ok {
		return exitError
	}
	c := spec.Client(name)
	if c == nil {
		fmt.Fprintf(env.stderr, "Error: no client %q in %s\n", name, f.file)
		return exitError
	}
	if f.noBackup && !f.deleteData {
		fmt.Fprintln(env.stderr, "Error: --no-backup only goes with --delete-data")
		return exitError
	}
	before, err := os.ReadFile(f.file)
	if err != nil {
		fmt.Fprintf(env.stderr, "Error: %v\n", err)
		return exitError
	}
	after, err := fleet.RemoveClient(before, f.file, name)
	if err != nil {
		fmt.Fprintf(env.stderr, "Error: %v\n", err)
		return exitError
	}
	opt := plan.Options{Targets: []string{name}, Prune: true}
	if f.deleteData {
		opt.DeleteData = []string{name}
	}
	if !previewDestroy(ctx, env, f, after, opt) {
		return exitError
	}
	if !f.yes && !typedName(ctx, env, name) {
		fmt.Fprintf(env.stderr, "Error: destroy of %s refused: not confirmed (type the client's name, or pass --yes). Nothing was changed.\n", name)
		return exitError
	}
	if f.deleteData && !f.noBackup && !backupBeforeDelete(ctx, env, f, name) {
		return exitError
	}
	if _, err := editFleetFile(env, f.file, func([]byte) ([]byte, error) { return after, nil }); err != nil {
		fmt.Fprintf(env.stderr, "Error: %v\n", err)
		return exitError
	}
	f.quietPlan = true
	return applyClients(ctx, env, &f.opsFlags, opt, nil)
}

// previewDestroy prints the plan of fleet.yaml without the client, made
// from the edited bytes (nothing is written yet).
func previewDestroy(ctx context.Context, env *cliEnv, f *destroyFlags, edited []byte, opt plan.Options) bool {
	spec, err := fleet.Parse(edited, f.file)
	if err != nil {
		fmt.Fprintf(env.stderr, "Error: %v\n", err)
		return false
	}
	spec.Path = f.file
	secrets, ok := resolveSecrets(env, spec)
	if !ok {
		return false
	}
	cli, ok := connect(ctx, env)
	if !ok {
		return false
	}
	defer cli.Close()
	s := &session{spec: spec, secrets: secrets, cli: cli}
	p, _, ok := s.plan(ctx, env, opt)
	if !ok {
		return false
	}
	out := env.stdout
	if f.asJSON {
		out = env.stderr
	}
	fmt.Fprintf(out, "Destroying client %s removes its entry from %s and applies:\n\n", opt.Targets[0], f.file)
	return p.WriteText(out) == nil
}

// typedName asks for the client's name on stdin; an interrupt or the end of
// the input answers no.
func typedName(ctx context.Context, env *cliEnv, name string) bool {
	fmt.Fprintf(env.stdout, "\nType the client's name (%s) to destroy it: ", name)
	answer := make(chan string, 1)
	go func() {
		line, err := bufio.NewReader(env.stdin).ReadString('\n')
		if err != nil && line == "" {
			fmt.Fprintln(env.stdout)
		}
		answer <- strings.TrimSpace(line)
	}()
	select {
	case a := <-answer:
		return a == name
	case <-ctx.Done():
		fmt.Fprintln(env.stdout)
		return false
	}
}

// backupBeforeDelete takes a fresh backup of the client (verified by reading
// it back, as fleetctl backup does) while fleet.yaml still has it.
func backupBeforeDelete(ctx context.Context, env *cliEnv, f *destroyFlags, name string) bool {
	s, ok := openSession(ctx, env, f.file, f.asJSON)
	if !ok {
		return false
	}
	defer s.close()
	if s.cli == nil {
		fmt.Fprintln(env.stderr, "Error: the fleet's lock host cannot be reached: no backup, nothing deleted")
		return false
	}
	s.cli.SetVersion(version)
	dest := backup.NewDestination(s.spec, s.secrets)
	res, err := backup.Backup(ctx, s.cli, s.spec, s.secrets, dest, name, backup.Options{Version: version, Progress: backupProgress(env)})
	if err != nil {
		fmt.Fprintf(env.stderr, "Error: %v\nNo fresh verified backup of %s: nothing was deleted (--no-backup deletes without one).\n", s.secrets.Masker().Error(err), name)
		return false
	}
	out := env.stdout
	if f.asJSON {
		out = env.stderr
	}
	fmt.Fprintf(out, "%s: backup %s verified: %d files, %s (%s); now deleting.\n\n", name, res.Entry.ID,
		len(res.Manifest.Files), humanBytes(res.Manifest.TotalBytes), dest)
	return true
}
