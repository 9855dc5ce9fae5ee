package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/spf13/cobra"

	"github.com/quantabase/fleetctl/pkg/docker"
	"github.com/quantabase/fleetctl/pkg/plan"
	"github.com/quantabase/fleetctl/pkg/redact"
)

// logColours are the ANSI colours of the name prefixes, as compose cycles them.
var logColours = []string{"36", "33", "32", "35", "34", "96", "93", "92", "95", "94"}

func logsCmd(env *cliEnv) *cobra.Command {
	var file, since string
	var follow bool
	var tail int
	c := &cobra.Command{
		Use:   "logs CLIENT...",
		Short: "the clients' log lines, interleaved, secrets masked",
		Long: "Print the log lines of the named clients' containers through the Docker API, each line\n" +
			"prefixed with its client's name (coloured on a terminal, like compose), every secret value\n" +
			"fleet.yaml gives the clients masked. -f is --follow here (fleet.yaml is --file).",
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErrorf("%s needs at least one CLIENT", c.CommandPath())
			}
			return nil
		},
		ValidArgsFunction: completeManyClients,
		RunE: func(c *cobra.Command, args []string) error {
			return status(runLogs(c.Context(), env, file, args, docker.LogOptions{Follow: follow, Since: since, Tail: tail}))
		},
	}
	c.Flags().StringVar(&file, "file", "fleet.yaml", "read fleet.yaml from `FILE`")
	_ = c.MarkFlagFilename("file", "yaml", "yml")
	c.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new lines until interrupted")
	c.Flags().StringVar(&since, "since", "", "only lines since `WHEN` (a duration like 10m, or a timestamp)")
	c.Flags().IntVar(&tail, "tail", 0, "only the last `N` lines of each client (0: all)")
	return c
}

func runLogs(ctx context.Context, env *cliEnv, file string, args []string, opt docker.LogOptions) int {
	s, ok := openSession(ctx, env, file, false)
	if !ok {
		return exitError
	}
	defer s.close()
	names, ok := clientArgs(env, s.spec, args, false)
	if !ok {
		return exitError
	}
	engines, ok := clientEngines(ctx, env, s, names)
	if !ok {
		return exitError
	}
	ctx = redact.NewContext(ctx, s.secrets.Masker(plan.SensitiveValues(s.spec, s.secrets)...))
	colour := isTerminal(env.stdout) && os.Getenv("NO_COLOR") == ""
	width := 0
	for _, n := range names {
		width = max(width, len(n))
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	failed := false
	for i, n := range names {
		prefix := fmt.Sprintf("%-*s | ", width, n)
		if colour {
			prefix = "\x1b[" + logColours[i%len(logColours)] + "m" + prefix + "\x1b[0m"
		}
		ctr, eng := s.spec.ContainerName(s.spec.Client(n)), engines[n]
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := eng.StreamLogs(ctx, ctr, opt, func(line string) {
				mu.Lock()
				defer mu.Unlock()
				fmt.Fprintln(env.stdout, prefix+line)
			})
			if err != nil {
				mu.Lock()
				defer mu.Unlock()
				failed = true
				fmt.Fprintf(env.stderr, "Error: client %s: %v\n", n, err)
			}
		}()
	}
	wg.Wait()
	if failed {
		return exitError
	}
	return exitOK
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// clientEngines is the engine of each client: the one engine, or with hosts
// the host the plan places it on.
func clientEngines(ctx context.Context, env *cliEnv, s *session, names []string) (map[string]*docker.Client, bool) {
	out := make(map[string]*docker.Client, len(names))
	if s.hosts == nil {
		for _, n := range names {
			out[n] = s.cli
		}
		return out, true
	}
	p, _, ok := s.plan(ctx, env, plan.Options{Targets: names})
	if !ok {
		return nil, false
	}
	for _, h := range p.Hosts {
		for _, c := range h.Clients {
			if cli, err := s.hosts.Client(h.Name); err == nil {
				out[c] = cli
			}
		}
	}
	for _, n := range names {
		if out[n] == nil {
			fmt.Fprintf(env.stderr, "Error: client %s is on no reachable host\n", n)
			return nil, false
		}
	}
	return out, true
}
