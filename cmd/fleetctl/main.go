// Command fleetctl reconciles a fleet of Open WebUI instances with fleet.yaml.
// This package is CLI wiring only (spf13/cobra): flags, output, prompts,
// interrupts and exit codes; the work and every decision are in pkg/.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Set by the Makefile with -ldflags "-X main.version=...".
var version = "dev"

// Exit codes (plan --detailed-exitcode adds exitChanges).
const (
	exitOK      = 0
	exitError   = 1
	exitChanges = 2
	// exitInterrupted: stopped by SIGINT/SIGTERM (128 + SIGINT, as shells do).
	exitInterrupted = 130
)

// cliEnv carries the process's streams and its interrupt handling, so the
// commands run in-process in tests (intr is nil there).
type cliEnv struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	intr   *interrupts
}

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	intr := newInterrupts(cancel, os.Stderr, os.Exit)
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go intr.watch(sig)
	code := dispatch(ctx, &cliEnv{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, intr: intr}, os.Args[1:])
	cancel()
	os.Exit(code)
}
