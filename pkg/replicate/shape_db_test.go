package replicate

import (
	"strings"
	"testing"
	"time"
)

// A column the application adds (Open WebUI's migrations add some on every
// upgrade) changes every existing row's text: the row hashes move to the
// new shape with it, so a later source edit of a row the sync wrote is no
// conflict under the strategies that keep the target, while a row changed
// outside the sync before the column came still is one. A table without
// updated_at and a DEFAULT column: its rows are compared again once and
// written, without conflicts; the next pass finds every chunk equal.
func TestAddedColumnKeepsRowHashes(t *testing.T) {
	tg := targets(t)["direct"](t)
	for _, s := range []Strategy{TargetWins, Manual, OldestWins} {
		t.Run(string(s), func(t *testing.T) {
			app := newApp(t)
			client := "add-" + strings.ReplaceAll(string(s), "_", "-")
			schema := ClientSchema(client)
			n := newNode(t, tg, "node-"+client, []Client{{Name: client, SQLitePath: app.path}}, func(c *Config) {
				c.Strategy = s
				c.CacheTTL = time.Nanosecond // every pass describes the tables again
			})
			app.chat(t, "c1", "v1", 100)
			app.chat(t, "c2", "v1", 50) // below the watermark: not read again before its edit
			app.exec(t, `INSERT INTO tag VALUES ('t1', 'u1', 'work'), ('t2', 'u1', 'home')`)
			if err := pass(t, n, true); err != nil {
				t.Fatal(err)
			}
			tg.query(t, `UPDATE `+schema+`.chat SET title = 'outside' WHERE id = 'c2'`)
			app.exec(t, `ALTER TABLE chat ADD COLUMN extra TEXT`)
			app.exec(t, `ALTER TABLE tag ADD COLUMN d TEXT DEFAULT 'x'`)
			if err := pass(t, n, true); err != nil {
				t.Fatal(err)
			}
			if got := tg.query(t, `SELECT string_agg(id || '=' || name || '/' || coalesce(d, 'NULL'), ',' ORDER BY id) FROM `+schema+`.tag`); got != "t1=work/x,t2=home/x" {
				t.Errorf("tag after its DEFAULT column: %s", got)
			}
			app.exec(t, `UPDATE chat SET title = 'v2', updated_at = 200`)
			before := counters(n)
			if err := pass(t, n, true); err != nil {
				t.Fatal(err)
			}
			if d := counters(n).minus(before); d.differing != 0 {
				t.Errorf("chunks still differ after the new columns were written: %+v", d)
			}
			want := "c1=v2,c2=outside"
			if got := tg.query(t, `SELECT string_agg(id || '=' || title, ',' ORDER BY id) FROM `+schema+`.chat`); got != want {
				t.Errorf("chat %s, want %s", got, want)
			}
			if got := tg.query(t, `SELECT string_agg(tbl || pk, ',' ORDER BY pk) FROM sync_metadata.conflicts WHERE client = '`+client+`'`); got != `chat["c2"]` {
				t.Errorf("conflicts %q, want only c2's (changed outside the sync)", got)
			}
		})
	}
}

// A target row the sync never wrote (inserted outside it) whose key the
// source then writes is a conflict when the two differ, decided by the
// strategy like any other; one equal to the source is taken as the sync's
// own: no conflict, and the source's later edit is written.
func TestUntrackedTargetRows(t *testing.T) {
	tg := targets(t)["direct"](t)
	for _, s := range []Strategy{TargetWins, SourceWins} {
		t.Run(string(s), func(t *testing.T) {
			app := newApp(t)
			client := "untracked-" + strings.ReplaceAll(string(s), "_", "-")
			schema := ClientSchema(client)
			n := newNode(t, tg, "node-"+client, []Client{{Name: client, SQLitePath: app.path}}, func(c *Config) { c.Strategy = s })
			app.chat(t, "c1", "v1", 100)
			if err := pass(t, n, false); err != nil {
				t.Fatal(err)
			}
			tg.query(t, `INSERT INTO `+schema+`.chat VALUES ('x', 'u1', 'target', '{"m":[1,2]}', false, 1, 150), ('y', 'u1', 'same', '{"m":[1,2]}', false, 1, 300)`)
			app.chat(t, "x", "source", 200)
			app.chat(t, "y", "same", 300)
			if err := pass(t, n, false); err != nil {
				t.Fatal(err)
			}
			want := map[Strategy]string{TargetWins: "c1=v1,x=target,y=same", SourceWins: "c1=v1,x=source,y=same"}[s]
			if got := tg.query(t, `SELECT string_agg(id || '=' || title, ',' ORDER BY id) FROM `+schema+`.chat`); got != want {
				t.Errorf("chat %s, want %s", got, want)
			}
			if got := tg.query(t, `SELECT string_agg(pk || ' ' || outcome, ',') FROM sync_metadata.conflicts WHERE client = '`+client+`'`); got != `["x"] `+map[Strategy]string{TargetWins: "target", SourceWins: "source"}[s] {
				t.Errorf("conflicts %q, want x's only", got)
			}
			app.chat(t, "y", "edited", 400)
			if err := pass(t, n, false); err != nil {
				t.Fatal(err)
			}
			if got := tg.query(t, `SELECT title FROM `+schema+`.chat WHERE id = 'y'`); got != "edited" {
				t.Errorf("y is %q after the source's edit of a row adopted as the sync's", got)
			}
			if c := tg.count(t, `SELECT count(*) FROM sync_metadata.conflicts WHERE client = '`+client+`'`); c != 1 {
				t.Errorf("%d conflicts, want 1", c)
			}
		})
	}
}
