//go:build syncbench

package replicate

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// countTracer counts the statements a pool sends (one round trip each:
// pgx's simple protocol, BEGIN and COMMIT included).
type countTracer struct{ n atomic.Int64 }

func (c *countTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *countTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TestPassCost (go test -tags syncbench -run TestPassCost -v ./pkg/replicate,
// make bench-sync-pass): what recording a job costs a pass, directly and
// through pgbouncer. A pass of one client with nothing new (4 tables, 2 with
// updated_at: 2 table transactions) against the job's start and end
// recorded fenced (two fenced transactions, as now) or unfenced (two
// autocommit statements, as before the job history was fenced). Figures,
// not assertions.
func TestPassCost(t *testing.T) {
	for _, name := range []string{"direct", "pgbouncer"} {
		t.Run(name, func(t *testing.T) {
			tg := targets(t)[name](t)
			app := newApp(t)
			app.chat(t, "c1", "one", 1)
			n := newNode(t, tg, "node-a", []Client{{Name: "acme", SQLitePath: app.path}})
			tok := lead(t, n)
			ctx := context.Background()
			if err := n.SyncOnce(ctx, tok, true); err != nil {
				t.Fatal(err)
			}
			cfg, err := pgxpool.ParseConfig(tg.url)
			if err != nil {
				t.Fatal(err)
			}
			cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
			tr := &countTracer{}
			cfg.ConnConfig.Tracer = tr
			db, err := pgxpool.NewWithConfig(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			insert := `INSERT INTO ` + n.meta + `.jobs (node_id, term, client, kind, status, started_at)
				VALUES ($1, $2, 'acme', 'incremental', 'running', clock_timestamp()) RETURNING id`
			finish := `UPDATE ` + n.meta + `.jobs SET status = 'ok', finished_at = clock_timestamp() WHERE id = $1`
			job := map[string]func() error{
				"fenced": func() error {
					var id int64
					if err := fencedTx(ctx, db, n.meta, tok, idleInTx, func(tx pgx.Tx) error {
						return tx.QueryRow(ctx, insert, tok.Holder, tok.Term).Scan(&id)
					}); err != nil {
						return err
					}
					return fencedTx(ctx, db, n.meta, tok, idleInTx, func(tx pgx.Tx) error {
						_, err := tx.Exec(ctx, finish, id)
						return err
					})
				},
				"unfenced": func() error {
					var id int64
					if err := db.QueryRow(ctx, insert, tok.Holder, tok.Term).Scan(&id); err != nil {
						return err
					}
					_, err := db.Exec(ctx, finish, id)
					return err
				},
			}
			for _, kind := range []string{"unfenced", "fenced"} {
				tr.n.Store(0)
				var runs int
				r := testing.Benchmark(func(b *testing.B) {
					tok = lead(t, n)
					for i := 0; i < b.N; i++ {
						if err := job[kind](); err != nil {
							b.Fatal(err)
						}
					}
					runs += b.N
				})
				t.Logf("| %s | job start+end %s | %.3f ms | %.1f round trips |", name, kind,
					float64(r.NsPerOp())/1e6, float64(tr.n.Load())/float64(runs))
			}
			r := testing.Benchmark(func(b *testing.B) {
				tok = lead(t, n)
				for i := 0; i < b.N; i++ {
					if err := n.SyncOnce(ctx, tok, false); err != nil {
						b.Fatal(err)
					}
				}
			})
			t.Logf("| %s | incremental pass, nothing new (job fenced) | %.3f ms | |", name, float64(r.NsPerOp())/1e6)
		})
	}
}
