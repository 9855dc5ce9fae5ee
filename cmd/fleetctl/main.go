// Command fleetctl reconciles a fleet of Open WebUI instances with fleet.yaml.
// This package is CLI wiring only: flags, output and exit codes; the work is
// done by the packages under pkg/.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"
)

// Set by the Makefile with -ldflags "-X main.version=...".
var version = "dev"

// Exit codes (plan --detailed-exitcode adds exitChanges).
const (
	exitOK      = 0
	exitError   = 1
	exitChanges = 2
)

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *cliEnv, args []string) int
}

// cliEnv carries the process's streams so commands are testable in-process.
type cliEnv struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

func commands() []command {
	return []command{
		{"validate", "check fleet.yaml and report every error", runValidate},
		{"plan", "show what apply would change", runPlan},
		{"apply", "make the Docker host match fleet.yaml", runApply},
		{"watch", "keep the fleet converged: a daemon with metrics and a status page", runWatch},
		{"status", "one row per client: state, health, drift", runStatus},
		{"oauth", "oauth urls: the origins and redirect URIs to register with Google", runOAuth},
		{"db", "db show CLIENT | db migrate CLIENT --dry-run: a client's database and its migration", runDB},
		{"unlock", "remove a fleet's lock left by a crashed fleetctl", runUnlock},
		{"version", "print the version", runVersion},
	}
}

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	// The daemon logs JSON on stderr and reports its own shutdown.
	go interrupts(cancel, len(os.Args) > 1 && os.Args[1] == "watch")
	code := dispatch(ctx, &cliEnv{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}, os.Args[1:])
	cancel()
	os.Exit(code)
}

// interrupts turns the first SIGINT/SIGTERM into a cancellation: no new action
// starts, and actions under way finish or roll back, so no client is left half
// replaced. A second signal abandons them at once.
func interrupts(cancel context.CancelFunc, quiet bool) {
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	if !quiet {
		fmt.Fprintln(os.Stderr, "\nInterrupted: no new action will start; finishing (or rolling back) the ones under way. Interrupt again to abandon them.")
	}
	cancel()
	<-sig
	if !quiet {
		fmt.Fprintln(os.Stderr, "Abandoned. Run 'fleetctl apply' again to converge; it resumes interrupted replacements safely.")
	}
	os.Exit(130)
}

func dispatch(ctx context.Context, env *cliEnv, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(env.stderr)
		if len(args) == 0 {
			return exitError
		}
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, env, args[1:])
		}
	}
	fmt.Fprintf(env.stderr, "fleetctl: unknown command %q\n\n", args[0])
	usage(env.stderr)
	return exitError
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: fleetctl <command> [flags]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'fleetctl <command> -h' for the flags of a command.\n")
}

func runVersion(_ context.Context, env *cliEnv, args []string) int {
	fs := newFlags("version", env)
	asJSON := fs.Bool("json", false, "print JSON")
	if fs.Parse(args) != nil {
		return exitError
	}
	if *asJSON {
		return writeJSON(env, map[string]string{"version": version, "go": runtime.Version()})
	}
	fmt.Fprintf(env.stdout, "fleetctl %s (%s)\n", version, runtime.Version())
	return exitOK
}
