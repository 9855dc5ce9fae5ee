package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// exitStatus is returned by a command that has printed its own messages and
// ends with a non-zero exit code.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// status turns an exit code into a command's result.
func status(code int) error {
	if code == exitOK {
		return nil
	}
	return exitStatus(code)
}

// usageError is a command line fleetctl cannot run: an unknown verb or flag,
// a missing or extra argument. It exits 1 with a pointer to --help.
type usageError struct {
	msg  string
	help string // the command whose --help to point to ("" for the one that failed)
}

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, a ...any) error {
	return &usageError{msg: fmt.Sprintf(format, a...)}
}

// dispatch runs one command line and returns the process's exit code.
func dispatch(ctx context.Context, env *cliEnv, args []string) int {
	root := newRoot(env)
	if args == nil {
		args = []string{} // nil would make cobra read os.Args
	}
	root.SetArgs(args)
	root.SetIn(env.stdin)
	root.SetOut(env.stdout)
	root.SetErr(env.stderr)
	cmd, err := root.ExecuteContextC(ctx)
	var st exitStatus
	var ue *usageError
	switch {
	case env.intr.stoppedEarly():
		return exitInterrupted
	case err == nil:
		return exitOK
	case errors.As(err, &st):
		return int(st)
	case errors.As(err, &ue):
		help := ue.help
		if help == "" {
			help = cmd.CommandPath()
		}
		fmt.Fprintf(env.stderr, "Error: %v\nRun '%s --help' for usage.\n", err, help)
	default:
		fmt.Fprintf(env.stderr, "Error: %v\n", err)
	}
	return exitError
}

func newRoot(env *cliEnv) *cobra.Command {
	// Without a verb: the list of verbs, on stderr, and exit 1.
	root := group(env, &cobra.Command{
		Use:   "fleetctl",
		Short: "Reconcile a fleet of Open WebUI instances with fleet.yaml",
		Long: "fleetctl runs one isolated Open WebUI instance per client on a Docker host, from one\n" +
			"declarative file: 'fleetctl plan' shows what would change, 'fleetctl apply' makes it so.\n\n" +
			"Exit codes: 0 success (plan --detailed-exitcode: no changes), 1 error, 2 changes\n" +
			"(plan --detailed-exitcode and monitoring render --check only), 130 interrupted.",
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	})
	root.SetFlagErrorFunc(flagError)
	root.SetHelpCommand(helpCmd())
	root.AddCommand(
		validateCmd(env), planCmd(env), applyCmd(env), watchCmd(env), statusCmd(env),
		showCmd(env), oauthCmd(env), dbCmd(env), monitoringCmd(env), unlockCmd(env), versionCmd(env), completionCmd(env),
		backupCmd(env), restoreCmd(env), agentCmd(env), syncNodeCmd(env), syncCmd(env), certifyCmd(env),
	)
	root.AddCommand(importCmd(env), listCmd(env), logsCmd(env), stopCmd(env), startCmd(env), restartCmd(env), rollbackCmd(env), destroyCmd(env)) // day-2 verbs
	return root
}

// unknownCommand is the Args of a group (root, db, oauth): any argument is a
// verb it does not have.
func unknownCommand(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
	if s := c.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "; did you mean " + quoteList(s) + "?"
	}
	return &usageError{msg: msg, help: c.CommandPath()}
}

// group makes c a command that only holds subcommands: without one it
// prints its usage on stderr and exits 1.
func group(env *cliEnv, c *cobra.Command) *cobra.Command {
	c.Args = unknownCommand
	c.SuggestionsMinimumDistance = 2
	c.RunE = func(c *cobra.Command, _ []string) error {
		c.SetOut(env.stderr)
		_ = c.Usage()
		return exitStatus(exitError)
	}
	return c
}

// helpCmd is `fleetctl help [VERB...]`: exit 0 with the verb's help, exit 1
// (with a suggestion) for a verb that does not exist.
func helpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "help about any command",
		Args:  cobra.ArbitraryArgs,
		ValidArgsFunction: func(c *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			cmd, _, err := c.Root().Find(args)
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var names []string
			for _, sub := range cmd.Commands() {
				if sub.IsAvailableCommand() {
					names = append(names, sub.Name())
				}
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			cmd := c.Root()
			for _, a := range args {
				next := findSub(cmd, a)
				if next == nil {
					return unknownCommand(cmd, []string{a})
				}
				cmd = next
			}
			cmd.InitDefaultHelpFlag()
			cmd.SetOut(c.OutOrStdout())
			return cmd.Help()
		},
	}
}

func findSub(c *cobra.Command, name string) *cobra.Command {
	for _, sub := range c.Commands() {
		if sub.Name() == name || sub.HasAlias(name) {
			return sub
		}
	}
	return nil
}

// flagError adds a suggestion to pflag's "unknown flag" errors; a single-dash
// long flag (-adopt, from fleetctl before cobra) is pointed to its --form.
func flagError(c *cobra.Command, err error) error {
	msg := err.Error()
	typed := ""
	switch {
	case strings.HasPrefix(msg, "unknown flag: --"):
		typed = strings.TrimPrefix(msg, "unknown flag: --")
	case strings.HasPrefix(msg, "unknown shorthand flag: "):
		// "unknown shorthand flag: 'a' in -adopt"
		if i := strings.LastIndex(msg, " in -"); i >= 0 {
			typed = strings.TrimPrefix(msg[i+len(" in -"):], "-")
		}
	}
	typed, _, _ = strings.Cut(typed, "=")
	if typed != "" {
		if s := suggestFlags(c, typed); len(s) > 0 {
			msg += "; did you mean " + quoteList(s) + "?"
		}
	}
	return &usageError{msg: msg}
}

// suggestFlags lists the command's flags close to typed, by cobra's own
// rule for verbs (edit distance 2, or a prefix): the flags stand in as the
// verbs of a throw-away command.
func suggestFlags(c *cobra.Command, typed string) []string {
	names := &cobra.Command{SuggestionsMinimumDistance: 2}
	c.Flags().VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			names.AddCommand(&cobra.Command{Use: f.Name, Run: func(*cobra.Command, []string) {}})
		}
	})
	var out []string
	for _, n := range names.SuggestionsFor(typed) {
		out = append(out, "--"+n)
	}
	return out
}

func quoteList(s []string) string {
	q := make([]string, len(s))
	for i, x := range s {
		q[i] = "'" + x + "'"
	}
	return strings.Join(q, " or ")
}
