package watch

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"sync"
	"time"
)

//go:embed page.html.tmpl
var pageSource string

// pageTemplate renders the status page: one self-contained HTML document
// (inline CSS, no scripts, no external assets) that reads on a phone. It is
// parsed on first use, not at every fleetctl start-up.
var pageTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("page").Funcs(pageFuncs).Parse(pageSource))
})

var pageFuncs = template.FuncMap{
	"ago":         ago,
	"stamp":       func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") },
	"dur":         func(d time.Duration) string { return roundDuration(d).String() },
	"healthClass": healthClass,
	"stateClass":  stateClass,
	"resultClass": resultClass,
	"join":        strings.Join,
	"short":       short,
}

// pageData is the template's input: the status plus a few summary counts.
type pageData struct {
	Status
	Healthy, Unhealthy, Down, Backoff int
	Overall, OverallClass             string
	Refresh                           int
}

func (d *Daemon) servePage(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	if err := RenderPage(&buf, d.Status(), d.cfg.Resync); err != nil {
		http.Error(w, "render status page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = buf.WriteTo(w)
}

// RenderPage writes the status page for s; the page reloads itself every
// few seconds (at most every resync).
func RenderPage(w *bytes.Buffer, s Status, resync time.Duration) error {
	pd := pageData{Status: s, Refresh: int(min(resync, 10*time.Second) / time.Second)}
	if pd.Refresh < 2 {
		pd.Refresh = 2
	}
	for _, c := range s.Clients {
		switch {
		case c.Down: // crash-looping, exited or failing its probe
			pd.Down++
		case c.Health == "healthy":
			pd.Healthy++
		case c.State == "absent" || (c.State != "running" && c.State != "restarting"):
			pd.Down++
		default:
			pd.Unhealthy++
		}
		if c.BackoffUntil.After(s.Now) {
			pd.Backoff++
		}
	}
	switch {
	case !s.SpecValid:
		pd.Overall, pd.OverallClass = "fleet.yaml invalid — running on the last valid spec", "bad"
	case s.LastSuccess.IsZero():
		pd.Overall, pd.OverallClass = "starting", "warn"
	case pd.Down+pd.Unhealthy+pd.Backoff > 0:
		pd.Overall, pd.OverallClass = "degraded", "warn"
	default:
		pd.Overall, pd.OverallClass = "converged", "ok"
	}
	return pageTemplate().Execute(w, pd)
}

func ago(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	if d < 0 {
		return "in " + roundDuration(-d).String()
	}
	return roundDuration(d).String() + " ago"
}

func roundDuration(d time.Duration) time.Duration {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond)
	case d < time.Minute:
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}

func healthClass(h string) string {
	switch {
	case h == "healthy":
		return "ok"
	case strings.HasPrefix(h, "unhealthy"):
		return "bad"
	}
	return "muted"
}

func stateClass(s string) string {
	switch s {
	case "running":
		return "ok"
	case "absent", "dead", "exited":
		return "bad"
	}
	return "warn"
}

func resultClass(r string) string {
	switch r {
	case resultSuccess:
		return "ok"
	case resultLocked:
		return "warn"
	}
	return "bad"
}

// short trims a long message for a table cell; the full text is in the title.
func short(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return fmt.Sprintf("%s…", string([]rune(s)[:n]))
}
