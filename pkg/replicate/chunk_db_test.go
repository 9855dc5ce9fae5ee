package replicate

import (
	"fmt"
	"math/rand"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// long is a lease no pass of these thousands of rows outlasts, even under
// -race on a loaded machine (tests renew only between passes).
func long(c *Config) { c.Lease, c.Renew = 60*time.Second, 5*time.Second }

// chunkCounters are the full passes' chunk counters so far.
type chunkCounters struct{ compared, differing, staged int64 }

func counters(n *Node) chunkCounters {
	return chunkCounters{int64(testutil.ToFloat64(n.m.chunks)), int64(testutil.ToFloat64(n.m.chunksDiffering)), int64(testutil.ToFloat64(n.m.staged))}
}

func (c chunkCounters) minus(o chunkCounters) chunkCounters {
	return chunkCounters{c.compared - o.compared, c.differing - o.differing, c.staged - o.staged}
}

// fill writes n chats and n tags in one transaction.
func (a *appDB) fill(t *testing.T, n int) {
	t.Helper()
	tx, err := a.db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if _, err := tx.Exec(`INSERT INTO chat VALUES (?, 'u1', ?, '{}', 0, 1, ?)`, fmt.Sprint("c", i), fmt.Sprint("title ", i), 100+i); err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprint("t", i)
		if i%500 == 7 {
			id = fmt.Sprint("t\\n\t", i) // keys whose COPY text is escaped bucket alike on both sides
		}
		if _, err := tx.Exec(`INSERT INTO tag VALUES (?, ?, ?)`, id, fmt.Sprint("u", i%7), fmt.Sprint("name\t", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// chunkOf is the SQL chunk of a target row t at the chunk size of n rows.
func chunkOf(sh *shape, n int64) string {
	return "(" + bucketSQL(sh.keyMD5SQL("t")) + ") >> " + strconv.Itoa(fineBits-chunkBits(n))
}

// snapshot records each target row's xmin, to tell later which rows a pass
// rewrote (a rewritten row has a new xmin).
func snapshot(t *testing.T, tg target, schema, table, key string) {
	tg.query(t, `DROP TABLE IF EXISTS public.snap_`+table+`; CREATE TABLE public.snap_`+table+` AS SELECT `+key+`, xmin::text AS x FROM `+schema+`.`+table)
}

func rewritten(t *testing.T, tg target, schema, table, key string) int {
	return tg.count(t, `SELECT count(*) FROM `+schema+`.`+table+` c JOIN public.snap_`+table+` s USING (`+key+`) WHERE c.xmin::text <> s.x`)
}

func TestChunkedFullPass(t *testing.T) {
	const rows = 5000
	for name, mk := range targets(t) {
		t.Run(name, func(t *testing.T) {
			tg := mk(t)
			app := newApp(t)
			n := newNode(t, tg, "node-a", []Client{{Name: "chunky", SQLitePath: app.path}}, long)
			schema := ClientSchema("chunky")
			app.fill(t, rows)
			if err := pass(t, n, true); err != nil {
				t.Fatal(err)
			}
			if got := tg.count(t, `SELECT count(*) FROM `+schema+`.tag`); got != rows {
				t.Fatalf("%d tags after the first full pass", got)
			}
			var chat, tag *shape
			for _, s := range n.clients["chunky"].shapes {
				switch s.Table {
				case "chat":
					chat = s
				case "tag":
					tag = s
				}
			}
			chunks := int64(1) << chunkBits(rows)

			// An unchanged database: every chunk compares equal, nothing is
			// staged or written.
			before := counters(n)
			if err := pass(t, n, true); err != nil {
				t.Fatal(err)
			}
			d := counters(n).minus(before)
			if d.compared < 2*chunks || d.differing != 0 {
				t.Errorf("unchanged: %+v (chat and tag have %d chunks each)", d, chunks)
			}
			if got := tg.query(t, `SELECT rows_written || '/' || rows_deleted FROM sync_metadata.jobs ORDER BY id DESC LIMIT 1`); got != "0/0" {
				t.Errorf("unchanged pass wrote/deleted %s", got)
			}

			// Deletes in one chunk of chat (with updated_at: keys compared)
			// and an update, a delete and an insert in one chunk of tag
			// (no updated_at: rows compared).
			victims := tg.query(t, `SELECT string_agg(id, ',') FROM (SELECT id FROM `+schema+`.chat t
				WHERE `+chunkOf(chat, rows)+` = 3 ORDER BY id LIMIT 3) q`)
			for _, id := range splitComma(victims) {
				app.exec(t, `DELETE FROM chat WHERE id = ?`, id)
			}
			tagChunk := tg.query(t, `SELECT `+chunkOf(tag, rows)+` FROM `+schema+`.tag t WHERE id = 't10'`)
			other := tg.query(t, `SELECT id FROM `+schema+`.tag t WHERE `+chunkOf(tag, rows)+` = `+tagChunk+` AND id <> 't10' ORDER BY id LIMIT 1`)
			app.exec(t, `UPDATE tag SET name = 'edited' WHERE id = 't10'`)
			app.exec(t, `DELETE FROM tag WHERE id = ?`, other)
			snapshot(t, tg, schema, "chat", "id")
			snapshot(t, tg, schema, "tag", "id, user_id")
			before = counters(n)
			if err := pass(t, n, true); err != nil {
				t.Fatal(err)
			}
			d = counters(n).minus(before)
			if d.differing != 2 {
				t.Errorf("%d chunks differed, want 2 (one per table): %+v", d.differing, d)
			}
			// Staged: the two chunks' keys/rows (plus the incremental pass's
			// re-read of the watermark's tick), far from the 2×5000 rows.
			if d.staged > 3*rows/chunks+10 {
				t.Errorf("staged %d rows for two chunks of about %d", d.staged, rows/chunks)
			}
			if got := tg.count(t, `SELECT count(*) FROM `+schema+`.chat WHERE id IN ('`+joinQuoted(splitComma(victims))+`')`); got != 0 {
				t.Errorf("%d deleted chats still in the target", got)
			}
			if got := tg.query(t, `SELECT name FROM `+schema+`.tag WHERE id = 't10'`); got != "edited" {
				t.Errorf("tag t10: %q", got)
			}
			if got := tg.count(t, `SELECT count(*) FROM `+schema+`.tag WHERE id = '`+other+`'`); got != 0 {
				t.Errorf("deleted tag %s still in the target", other)
			}
			if got := tg.count(t, `SELECT count(*) FROM `+schema+`.chat`); got != rows-3 {
				t.Errorf("%d chats", got)
			}
			if got := tg.count(t, `SELECT count(*) FROM `+schema+`.tag`); got != rows-1 {
				t.Errorf("%d tags", got)
			}
			// Only t10 was rewritten; no other row of either table.
			if got := rewritten(t, tg, schema, "chat", "id"); got != 0 {
				t.Errorf("%d chats rewritten", got)
			}
			if got := rewritten(t, tg, schema, "tag", "id, user_id"); got != 1 {
				t.Errorf("%d tags rewritten, want 1", got)
			}
			if got := tg.query(t, `SELECT rows_written || '/' || rows_deleted FROM sync_metadata.jobs ORDER BY id DESC LIMIT 1`); got != "1/4" {
				t.Errorf("job wrote/deleted %s, want 1/4", got)
			}
			// And the next pass finds everything equal again.
			before = counters(n)
			if err := pass(t, n, true); err != nil {
				t.Fatal(err)
			}
			if d := counters(n).minus(before); d.differing != 0 {
				t.Errorf("after converging: %+v", d)
			}
			if c := tg.count(t, `SELECT count(*) FROM sync_metadata.conflicts`); c != 0 {
				t.Errorf("%d conflicts", c)
			}
		})
	}
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}

func joinQuoted(ids []string) string {
	s := ""
	for i, id := range ids {
		if i > 0 {
			s += "','"
		}
		s += id
	}
	return s
}

// A table without updated_at under the target_wins strategy: the kept
// target version stays through later full passes (its source version is
// accepted with it), and a row changed only in the target is a conflict.
func TestChunkedConflictWithoutUpdatedAt(t *testing.T) {
	tg := targets(t)["direct"](t)
	app := newApp(t)
	n := newNode(t, tg, "node-a", []Client{{Name: "tw", SQLitePath: app.path}},
		long, func(c *Config) { c.TableStrategies = map[string]Strategy{"tag": TargetWins} })
	app.fill(t, 100)
	if err := pass(t, n, true); err != nil {
		t.Fatal(err)
	}
	tg.query(t, `UPDATE client_tw.tag SET name = 'target' WHERE id = 't1'`)
	app.exec(t, `UPDATE tag SET name = 'source' WHERE id = 't1'`)
	for i := 0; i < 3; i++ {
		if err := pass(t, n, true); err != nil {
			t.Fatal(err)
		}
		if got := tg.query(t, `SELECT name FROM client_tw.tag WHERE id = 't1'`); got != "target" {
			t.Fatalf("pass %d: t1 is %q, want the kept target version", i, got)
		}
	}
	if c := tg.count(t, `SELECT count(*) FROM sync_metadata.conflicts WHERE tbl = 'tag'`); c != 1 {
		t.Errorf("%d conflicts, want 1", c)
	}
	before := counters(n)
	if err := pass(t, n, true); err != nil {
		t.Fatal(err)
	}
	if d := counters(n).minus(before); d.differing != 0 {
		t.Errorf("the kept row's chunk still differs: %+v", d)
	}
}

// Deletes and inserts while the application writes: after the writes stop,
// one full pass makes both tables equal to the source, key for key.
func TestChunkedDeletesUnderWrites(t *testing.T) {
	for name, mk := range targets(t) {
		t.Run(name, func(t *testing.T) {
			tg := mk(t)
			app := newApp(t)
			n := newNode(t, tg, "node-a", []Client{{Name: "churn", SQLitePath: app.path}}, long)
			app.fill(t, 3000)
			var werr error
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewSource(1))
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					var err error
					switch i % 4 {
					case 0:
						_, err = app.db.Exec(`DELETE FROM chat WHERE id = ?`, fmt.Sprint("c", r.Intn(3000)))
					case 1:
						_, err = app.db.Exec(`DELETE FROM tag WHERE id = ?`, fmt.Sprint("t", r.Intn(3000)))
					case 2:
						_, err = app.db.Exec(`INSERT INTO chat VALUES (?, 'u', 'new', '{}', 0, 1, ?) ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at`,
							fmt.Sprint("c", r.Intn(4000)), 100000+i)
					case 3:
						_, err = app.db.Exec(`INSERT INTO tag VALUES (?, 'u', ?) ON CONFLICT DO UPDATE SET name = excluded.name`, fmt.Sprint("t", r.Intn(4000)), fmt.Sprint("n", i))
					}
					if err != nil {
						werr = err
						return
					}
				}
			}()
			for i := 0; i < 10; i++ {
				if err := pass(t, n, i%2 == 1); err != nil {
					close(stop)
					wg.Wait()
					t.Fatalf("pass %d: %v", i, err)
				}
			}
			close(stop)
			wg.Wait()
			if werr != nil {
				t.Fatalf("the application's writes failed: %v", werr)
			}
			if err := pass(t, n, true); err != nil {
				t.Fatal(err)
			}
			for _, q := range []struct{ table, cols string }{{"chat", "id || '|' || updated_at"}, {"tag", "id || '|' || user_id || '|' || name"}} {
				var src string
				if err := app.db.QueryRow(`SELECT coalesce(group_concat(k, ','), '') FROM (SELECT ` + q.cols + ` AS k FROM ` + q.table + ` ORDER BY 1)`).Scan(&src); err != nil {
					t.Fatal(err)
				}
				got := tg.query(t, `SELECT coalesce(string_agg(k, ',' ORDER BY k COLLATE "C"), '') FROM (SELECT `+q.cols+` AS k FROM client_churn.`+q.table+`) q`)
				if got != src {
					t.Errorf("%s differs from the source (%d vs %d bytes)", q.table, len(got), len(src))
					a, b := map[string]bool{}, map[string]bool{}
					for _, k := range splitComma(got) {
						a[k] = true
					}
					for _, k := range splitComma(src) {
						b[k] = true
					}
					for k := range a {
						if !b[k] {
							t.Logf("only in the target: %s", k)
						}
					}
					for k := range b {
						if !a[k] {
							t.Logf("only in the source: %s", k)
						}
					}
					t.Logf("watermark %s", tg.query(t, `SELECT watermark FROM sync_metadata.watermarks WHERE tbl = '`+q.table+`'`))
				}
			}
			if c := tg.count(t, `SELECT count(*) FROM sync_metadata.conflicts`); c != 0 {
				t.Errorf("%d conflicts", c)
			}
		})
	}
}

// The source sums of a full pass are read before the table's transaction
// (a large table's read outlasts idleInTx) unless the pass makes the
// table's first copy: also when the target was emptied while its row
// hashes remain (rows mode), or emptied before the incremental step of a
// table whose watermark exists; the pass restores the rows of the table
// without updated_at.
func TestSourceSumsBeforeTheTransaction(t *testing.T) {
	tg := targets(t)["direct"](t)
	app := newApp(t)
	n := newNode(t, tg, "node-a", []Client{{Name: "e", SQLitePath: app.path}}, long)
	app.fill(t, 50)
	first := func(table string) bool {
		t.Helper()
		c := n.clients["e"]
		for _, sh := range c.shapes {
			if sh.Table == table {
				f, err := emptyTarget(ctxT(t), n.db, n.meta, "e", sh, sh.hasUpdatedAt())
				if err != nil {
					t.Fatal(err)
				}
				return f
			}
		}
		t.Fatalf("no shape %s", table)
		return false
	}
	if err := pass(t, n, false); err != nil { // the shapes, chat's first copy
		t.Fatal(err)
	}
	if !first("tag") {
		t.Error("tag's first copy ahead: the sums would be read for nothing")
	}
	if err := pass(t, n, true); err != nil {
		t.Fatal(err)
	}
	tg.query(t, `DELETE FROM client_e.tag; DELETE FROM client_e.chat`)
	for _, table := range []string{"tag", "chat"} {
		if first(table) {
			t.Errorf("%s emptied in the target: no first copy, the sums must be read before the transaction", table)
		}
	}
	if err := pass(t, n, true); err != nil {
		t.Fatal(err)
	}
	if c := tg.count(t, `SELECT count(*) FROM client_e.tag`); c != 50 {
		t.Errorf("tag: %d rows after the full pass, want 50", c)
	}
}
