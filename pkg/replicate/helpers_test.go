package replicate

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/quantabase/fleetctl/pkg/pg/pgtest"
	_ "modernc.org/sqlite"
)

var srv *pgtest.Server

func TestMain(m *testing.M) { pgtest.Main(m, &srv, pgtest.Options{}) }

// target is one test database, reached directly or through pgbouncer in
// transaction mode.
type target struct {
	db  string
	url string
}

// targets returns the same fresh database twice: directly and through a
// transaction pooler (Supabase's constraints).
func targets(t *testing.T) map[string]func(t *testing.T) target {
	pgtest.Need(t, srv)
	return map[string]func(t *testing.T) target{
		"direct": func(t *testing.T) target {
			db := pgtest.NewDatabase(t, srv)
			return target{db, srv.URL(db)}
		},
		"pgbouncer": func(t *testing.T) target {
			db := pgtest.NewDatabase(t, srv)
			b, err := pgtest.StartBouncer(ctxT(t), srv)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(b.Stop)
			return target{db, b.URL(db)}
		},
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// appDB is an Open WebUI-shaped SQLite database the test writes as the
// application would (WAL, its own connection).
type appDB struct {
	path string
	db   *sql.DB
}

const appSchema = `
CREATE TABLE chat (id TEXT PRIMARY KEY, user_id TEXT NOT NULL, title TEXT, chat JSON, archived BOOLEAN, created_at BIGINT, updated_at BIGINT);
CREATE TABLE "user" (id TEXT PRIMARY KEY, name TEXT, email TEXT, updated_at BIGINT);
CREATE TABLE tag (id TEXT NOT NULL, user_id TEXT NOT NULL, name TEXT, PRIMARY KEY (id, user_id));
CREATE TABLE nokey (a TEXT, b TEXT);
`

func newApp(t *testing.T) *appDB {
	t.Helper()
	p := filepath.Join(t.TempDir(), "webui.db")
	db, err := sql.Open("sqlite", "file:"+p+"?_pragma=journal_mode(wal)&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(appSchema); err != nil {
		t.Fatal(err)
	}
	return &appDB{p, db}
}

func (a *appDB) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	if _, err := a.db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func (a *appDB) chat(t *testing.T, id, title string, updated int64) {
	a.exec(t, `INSERT INTO chat VALUES (?, 'u1', ?, '{"m":[1,2]}', 0, 1, ?)
		ON CONFLICT (id) DO UPDATE SET title = excluded.title, updated_at = excluded.updated_at`, id, title, updated)
}

func newNode(t *testing.T, tg target, id string, clients []Client, mod ...func(*Config)) *Node {
	t.Helper()
	// A lease long enough that a loaded machine does not lose it within one
	// pass (tests renew by hand, through lead or pass); the fencing test
	// shortens it.
	cfg := Config{NodeID: id, URL: tg.url, Clients: clients, Lease: 5 * time.Second, Renew: time.Second,
		AdminToken: "admin-Tok3n-distinct"}
	for _, f := range mod {
		f(&cfg)
	}
	n, err := NewNode(ctxT(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	return n
}

// lead makes n the leader (waiting for another's lease to run out).
func lead(t *testing.T, n *Node) Token {
	t.Helper()
	ctx := ctxT(t)
	for {
		n.ElectOnce(ctx)
		if tok, ok := n.Token(); ok {
			return tok
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s never led", n.cfg.NodeID)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (tg target) query(t *testing.T, q string) string {
	t.Helper()
	out, err := srv.Psql(ctxT(t), tg.db, q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

func (tg target) count(t *testing.T, q string) int {
	var n int
	fmt.Sscan(tg.query(t, q), &n)
	return n
}

// pass renews the lease and runs one pass.
func pass(t *testing.T, n *Node, full bool) error {
	t.Helper()
	tok := lead(t, n)
	return n.SyncOnce(ctxT(t), tok, full)
}

// short is the fencing test's lease: short enough to wait out, long enough
// that a first pass (schema creation included) on a loaded machine ends
// inside it (1 s was not, at a load average above 20).
func short(c *Config) { c.Lease, c.Renew = 3*time.Second, 750*time.Millisecond }
