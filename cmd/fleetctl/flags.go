package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

// The flags more than one verb has are declared here, once each, so their
// names, defaults and help cannot drift apart between verbs.

// fileFlag is -f/--file: the fleet.yaml a verb reads.
func fileFlag(c *cobra.Command, p *string) {
	c.Flags().StringVarP(p, "file", "f", "fleet.yaml", "read fleet.yaml from `FILE`")
	_ = c.MarkFlagFilename("file", "yaml", "yml")
}

// jsonFlag is --json: a result for programs on stdout.
func jsonFlag(c *cobra.Command, p *bool) {
	c.Flags().BoolVar(p, "json", false, "print JSON for programs on stdout (messages for people go to stderr)")
}

// parallelismFlag is --parallelism of apply and watch.
func parallelismFlag(c *cobra.Command, p *int) {
	c.Flags().IntVar(p, "parallelism", 4, "run up to `N` actions at once")
}

// backupDirFlag is --backup-dir of apply and db show.
func backupDirFlag(c *cobra.Command, p *string, def string) {
	c.Flags().StringVar(p, "backup-dir", def, "where migrations keep their SQLite backups and records (`DIR`/FLEET/CLIENT/); keep it out of any git checkout")
	_ = c.MarkFlagDirname("backup-dir")
}

// countFlag is a flag that may be repeated (--force --force) and counts its
// occurrences; it reads as a plain switch in --help.
type countFlag int

func (c *countFlag) String() string {
	if *c == 0 {
		return "false"
	}
	return strconv.Itoa(int(*c))
}

func (c *countFlag) Set(v string) error {
	on, err := strconv.ParseBool(v)
	if err != nil {
		return err
	}
	if on {
		*c++
	} else {
		*c = 0
	}
	return nil
}

// Type is "bool" so that pflag takes it without a value.
func (c *countFlag) Type() string { return "bool" }

// repeatableSwitch adds a countFlag.
func repeatableSwitch(c *cobra.Command, p *countFlag, name, usage string) {
	c.Flags().Var(p, name, usage)
	c.Flags().Lookup(name).NoOptDefVal = "true"
}

// noArgs is the Args of a verb that takes no argument: a stray word is an
// error, never silently ignored.
func noArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErrorf("%s takes no arguments, got %s", c.CommandPath(), quoteArgs(args))
	}
	return nil
}

// maxArgs accepts up to n arguments, each a what.
func maxArgs(n int, what string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) > n {
			return usageErrorf("%s takes at most %d argument(s) (%s), got %d: %s", c.CommandPath(), n, what, len(args), quoteArgs(args))
		}
		return nil
	}
}

// oneArg wants exactly one argument, a what.
func oneArg(what string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		switch {
		case len(args) == 0:
			return usageErrorf("%s needs %s", c.CommandPath(), what)
		case len(args) > 1:
			return usageErrorf("%s takes one argument (%s), got %d: %s", c.CommandPath(), what, len(args), quoteArgs(args))
		}
		return nil
	}
}

func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = fmt.Sprintf("%q", a)
	}
	return strings.Join(q, " ")
}

// exactArgs wants exactly n arguments.
func exactArgs(n int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != n {
			return usageErrorf("%s takes %d argument(s), got %d: %s", c.CommandPath(), n, len(args), quoteArgs(args))
		}
		return nil
	}
}
