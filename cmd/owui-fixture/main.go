// Command owui-fixture is a development tool for the SQLite → PostgreSQL
// migration: it generates Open WebUI-shaped SQLite databases (pkg/migrate/
// fixture) and runs fleetctl's migration engine (pkg/migrate) on a file,
// for tests and `make bench`. Operators use `fleetctl` instead.
//
//	owui-fixture generate -o webui.db -rows 1000000 [-seed 1] [-chat-json 2000]
//	             [-schema v0.11.0 [-orphans N] [-duplicates N]]
//	owui-fixture schema -url-env PGURL [-version v0.11.0]   (the app's PostgreSQL schema, as its migrations create it)
//	owui-fixture migrate -sqlite webui.db -url-env PGURL [-force] [-dry-run] [-orphans refuse|quarantine -quarantine f.db] [-report r.json]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/quantabase/fleetctl/pkg/migrate"
	"github.com/quantabase/fleetctl/pkg/migrate/fixture"
	"github.com/quantabase/fleetctl/pkg/openwebui"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: owui-fixture generate|migrate [flags]")
		return 2
	}
	switch args[0] {
	case "generate":
		return generate(ctx, args[1:], stdout, stderr)
	case "migrate":
		return migrateCmd(ctx, args[1:], stdout, stderr)
	case "schema":
		return schemaCmd(ctx, args[1:], stderr)
	}
	fmt.Fprintf(stderr, "owui-fixture: unknown command %q\n", args[0])
	return 2
}

func generate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("generate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "webui.db", "output file (must not exist)")
	rows := fs.Int("rows", 10000, "approximate total rows")
	seed := fs.Uint64("seed", 1, "random seed")
	chatJSON := fs.Int("chat-json", 2000, "approximate bytes of each chat's JSON")
	schema := fs.String("schema", "", "an Open WebUI version (v0.11.0): its real SQLite schema, every table filled (default: the older 14-table shape)")
	orphans := fs.Int("orphans", 0, "with -schema: chat_message rows of a missing chat (and half as many chat_file rows of a missing file)")
	dups := fs.Int("duplicates", 0, "with -schema: api_key pairs that collide once a NUL byte is removed")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	t0 := time.Now()
	var st *fixture.Stats
	var err error
	if *schema != "" {
		st, err = fixture.GenerateReal(ctx, *out, fixture.RealOptions{Version: *schema, Rows: *rows, Seed: *seed, ChatJSONBytes: *chatJSON, Orphans: *orphans, Duplicates: *dups})
	} else {
		st, err = fixture.Generate(ctx, *out, fixture.Options{Rows: *rows, Seed: *seed, ChatJSONBytes: *chatJSON})
	}
	if err != nil {
		fmt.Fprintf(stderr, "owui-fixture: %v\n", err)
		return 1
	}
	fi, _ := os.Stat(*out)
	fmt.Fprintf(stderr, "generated %s: %d rows, %d bytes in %.1fs\n", *out, st.Rows, fi.Size(), time.Since(t0).Seconds())
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.Encode(st)
	return 0
}

func migrateCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	src := fs.String("sqlite", "", "SQLite file (opened read-only)")
	urlEnv := fs.String("url-env", "PGURL", "environment variable holding the PostgreSQL URL (never a flag: it holds a password)")
	force := fs.Bool("force", false, "empty target tables that hold rows first")
	dry := fs.Bool("dry-run", false, "preflight and plan only")
	orphans := fs.String("orphans", migrate.OrphansRefuse, "rows whose parent row is missing: refuse or quarantine")
	quarantine := fs.String("quarantine", "", "with -orphans quarantine: the side SQLite file (must not exist)")
	report := fs.String("report", "", "write the JSON report to this file (default stdout)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	url := os.Getenv(*urlEnv)
	if *src == "" || url == "" {
		fmt.Fprintf(stderr, "owui-fixture migrate: need -sqlite and $%s\n", *urlEnv)
		return 2
	}
	bar := newBar(stderr)
	r, err := migrate.Run(ctx, migrate.Options{SQLitePath: *src, URL: url, Force: *force, DryRun: *dry, Progress: bar.update,
		Orphans: *orphans, QuarantinePath: *quarantine})
	bar.finish()
	out := stdout
	if *report != "" {
		f, ferr := os.Create(*report)
		if ferr != nil {
			fmt.Fprintf(stderr, "owui-fixture: %v\n", ferr)
			return 1
		}
		defer f.Close()
		out = f
	}
	out.Write(r.JSON())
	if err != nil {
		fmt.Fprintf(stderr, "migration failed: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "migrated %d rows in %.2fs (copy %.2fs, verify %.2fs), %d alterations, all tables verified\n",
		r.CopiedRows, r.Durations.Total, r.Durations.Copy, r.Durations.Verify, r.Alterations)
	return 0
}

// schemaCmd creates the version's PostgreSQL schema (and its alembic
// revision) in the database of $URL_ENV: what the application's first start
// against an empty database does, for benchmarks without Docker.
func schemaCmd(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("schema", flag.ContinueOnError)
	fs.SetOutput(stderr)
	urlEnv := fs.String("url-env", "PGURL", "environment variable holding the PostgreSQL URL")
	version := fs.String("version", openwebui.Version, "Open WebUI version")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	url := os.Getenv(*urlEnv)
	if url == "" {
		fmt.Fprintf(stderr, "owui-fixture schema: need $%s\n", *urlEnv)
		return 2
	}
	if err := migrate.CreateAppSchema(ctx, url, *version); err != nil {
		fmt.Fprintf(stderr, "owui-fixture schema: %v\n", err)
		return 1
	}
	return 0
}

// bar draws a one-line progress bar on a terminal-ish writer, at most 10×/s.
type bar struct {
	w    io.Writer
	last time.Time
	drew bool
}

func newBar(w io.Writer) *bar { return &bar{w: w} }

func (b *bar) update(p migrate.Progress) {
	if time.Since(b.last) < 100*time.Millisecond || p.Total == 0 {
		return
	}
	b.last = time.Now()
	frac := float64(p.Done) / float64(p.Total)
	n := int(frac * 30)
	fmt.Fprintf(b.w, "\r%-6s [%s%s] %5.1f%% %d/%d rows  %-20s", p.Phase, strings.Repeat("#", n), strings.Repeat(".", 30-n), 100*frac, p.Done, p.Total, p.Table)
	b.drew = true
}

func (b *bar) finish() {
	if b.drew {
		fmt.Fprintln(b.w)
	}
}
