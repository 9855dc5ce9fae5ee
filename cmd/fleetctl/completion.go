package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/quantabase/fleetctl/pkg/fleet"
)

func completionCmd(env *cliEnv) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "print the shell completion script for bash, zsh or fish",
		Long: "Print the completion script for a shell. Verbs and flags complete, and so do client names\n" +
			"(--target client.<TAB>, db show <TAB>), read from fleet.yaml (-f) without Docker or secrets.\n\n" +
			"  bash: source <(fleetctl completion bash)     (or save it in /etc/bash_completion.d/fleetctl)\n" +
			"  zsh:  fleetctl completion zsh > \"${fpath[1]}/_fleetctl\"\n" +
			"  fish: fleetctl completion fish > ~/.config/fish/completions/fleetctl.fish",
		Args: func(c *cobra.Command, args []string) error {
			if err := oneArg("a shell: bash, zsh or fish")(c, args); err != nil {
				return err
			}
			switch args[0] {
			case "bash", "zsh", "fish":
				return nil
			}
			return usageErrorf("completion: unknown shell %q; want bash, zsh or fish", args[0])
		},
		ValidArgs: []string{"bash", "zsh", "fish"},
		RunE: func(c *cobra.Command, args []string) error {
			root := c.Root()
			var err error
			switch args[0] {
			case "bash":
				err = root.GenBashCompletionV2(env.stdout, true)
			case "zsh":
				err = root.GenZshCompletion(env.stdout)
			case "fish":
				err = root.GenFishCompletion(env.stdout, true)
			}
			if err != nil {
				return fmt.Errorf("completion %s: %w", args[0], err)
			}
			return nil
		},
	}
}

// clientNames reads the client names of the fleet.yaml named by the
// command's -f: no Docker, no secret is resolved. An unreadable or invalid
// file completes nothing (validate says why).
func clientNames(c *cobra.Command) []string {
	file, err := c.Flags().GetString("file")
	if err != nil {
		return nil
	}
	spec, err := fleet.Load(file)
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(spec.Clients))
	for i := range spec.Clients {
		names = append(names, spec.Clients[i].Name)
	}
	return names
}

// completeClients completes the CLIENT argument of db show and db migrate.
func completeClients(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, n := range clientNames(c) {
		if strings.HasPrefix(n, toComplete) {
			out = append(out, n)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeTargets completes --target client.NAME.
func completeTargets(c *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	var out []string
	for _, n := range clientNames(c) {
		if t := "client." + n; strings.HasPrefix(t, toComplete) {
			out = append(out, t)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
