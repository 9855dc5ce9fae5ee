package plan

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// WriteText renders the plan for people, Terraform-style.
func (p *Plan) WriteText(w io.Writer) error {
	tw := &textWriter{w: w}
	tw.actions(p)           // hosts_text.go
	tw.rollouts(p.Rollouts) // rollout.go
	if len(p.Conflicts) > 0 {
		tw.printf("Conflicts (the clients named are left unchanged):\n")
		for _, c := range p.Conflicts {
			who := "fleet"
			if c.Client != "" {
				who = "client " + c.Client
			}
			if c.Host != "" {
				who += " on host " + c.Host
			}
			tw.printf("  ! %s: %s\n", who, c.Message)
		}
		tw.printf("\n")
	}
	if len(p.Down) > 0 {
		tw.printf("Problems (clients that should run and are not up; a container that matches fleet.yaml is not recreated again and again: fix the cause shown in its logs, or change its config):\n")
		for _, d := range p.Down {
			tw.printf("  ! %s: %s %s", d.Who(), d.Container, d.Message)
			if d.Action != "" {
				tw.printf(" (the plan starts it again)")
			}
			tw.printf("\n")
			if d.Probe != "" && d.Status != DownUnhealthy {
				tw.printf("      probe %s\n", d.Probe)
			}
			for _, l := range d.Logs {
				tw.printf("      | %s\n", l)
			}
		}
		tw.printf("\n")
	}
	for _, h := range p.Held {
		tw.printf("Held: %s %s (client %s): %s\n", h.Kind, h.Object, h.Client, h.Reason)
	}
	if len(p.Orphans) > 0 {
		tw.printf("Orphans (managed, no longer in fleet.yaml; left alone — prune: true or --prune removes their containers, never their volumes):\n")
		for _, o := range p.Orphans {
			vol := ""
			if o.Volume != "" {
				vol = ", volume " + o.Volume
			}
			if o.Host != "" {
				vol += ", host " + o.Host
			}
			tw.printf("  ? %s (client %s%s)\n", o.Container, o.Client, vol)
		}
		tw.printf("\n")
	}
	for _, w := range p.Warnings {
		tw.printf("Warning: %s\n", w)
	}
	tw.printf("%s\n", p.SummaryLine())
	return tw.err
}

// SummaryLine is "Plan: 2 to add, 1 to change, 0 to destroy." or "No changes. ...".
func (p *Plan) SummaryLine() string {
	s := p.Summary
	if p.Empty() && len(p.Down) > 0 {
		return fmt.Sprintf("No changes, but the fleet does not match fleet.yaml: %s down (see Problems above).", downCount(p.Down))
	}
	if p.Empty() {
		if len(p.Conflicts) > 0 {
			return fmt.Sprintf("No changes can be made: %d conflict(s) to resolve.", len(p.Conflicts))
		}
		if len(p.Orphans) > 0 {
			return fmt.Sprintf("No changes. The fleet matches fleet.yaml; %d orphan(s) listed above are left alone.", len(p.Orphans))
		}
		return "No changes. The fleet matches fleet.yaml."
	}
	line := fmt.Sprintf("Plan: %d to add, %d to change, %d to destroy", s.Add, s.Change, s.Destroy)
	if s.Pull > 0 {
		line += fmt.Sprintf(" (%d image(s) to pull)", s.Pull)
	}
	return line + "."
}

type textWriter struct {
	w   io.Writer
	err error
}

func (t *textWriter) printf(format string, args ...any) {
	if t.err == nil {
		_, t.err = fmt.Fprintf(t.w, format, args...)
	}
}

func (t *textWriter) action(a *Action) {
	if a.Kind == KindSyncSites {
		t.sites(a) // proxy_text.go
		return
	}
	if t.monitoring(a) { // monitoring_text.go
		return
	}
	noun := "container"
	switch a.Kind {
	case KindPullImage:
		noun = "image"
	case KindCreateVolume, KindRemoveVolume:
		noun = "volume"
	case KindProvisionSync:
		noun = "sync role"
	}
	head := fmt.Sprintf("  %s %s %s", a.Kind.Symbol(), noun, a.Object)
	if a.Client != "" && noun == "container" {
		head += " (client " + a.Client + ")"
	}
	switch a.Kind {
	case KindRecreateContainer:
		if a.endsRunning() {
			head += ": replace stop-first; the old container is kept until the new one is healthy"
		} else {
			head += ": replace (stays stopped)"
		}
	case KindMoveClient:
		head += fmt.Sprintf(": move from host %s to host %s; the old volume is kept on %s", a.Move.From, a.Move.To, a.Move.From)
	case KindMigrateDatabase:
		head += ": migrate the database from SQLite to PostgreSQL, then replace stop-first"
	case KindStartContainer:
		head += ": start"
	case KindStopContainer:
		head += ": stop"
	case KindRemoveContainer:
		head += ": remove container" + volumeFate(a) // destroy.go
	case KindRemoveVolume:
		head += " (client " + a.Client + "): remove volume: " + DataWillBeDeleted
	case KindPullImage:
		head += ": pull"
	case KindProvisionSync:
		head += ": create or update the role and its schemas in the sync target"
	}
	t.printf("%s\n", head)
	for _, c := range a.Causes {
		t.printf("      # %s\n", c)
	}
	switch {
	case a.Kind == KindCreateContainer, a.Kind == KindProvisionSync, a.Kind == KindMoveClient:
		t.attrs(a.After)
	case len(a.Changes) > 0:
		for _, ch := range a.Changes {
			t.change(ch)
		}
	}
	if a.Migration != nil {
		t.migration(a.Migration) // migrate.go
	}
	if a.Move != nil {
		t.move(a.Move) // move.go
	}
	t.printf("\n")
}

// endsRunning reports whether a container action leaves the container
// running. Start is not part of the JSON, so a plan read back from a file
// (fleetctl show, apply PLAN_FILE) answers from its After view instead.
func (a *Action) endsRunning() bool {
	if a.Start {
		return true
	}
	state, _ := a.After["state"].(string)
	return state == "running"
}

func (t *textWriter) change(ch Change) {
	switch {
	case ch.Sensitive && ch.Added:
		t.printf("      + %s: %s\n", ch.Field, Masked)
	case ch.Sensitive && ch.Removed:
		t.printf("      - %s: %s\n", ch.Field, Masked)
	case ch.Sensitive:
		t.printf("      ~ %s: %s (value changed)\n", ch.Field, Masked)
	case ch.Added:
		t.printf("      + %s: %q\n", ch.Field, ch.After)
	case ch.Removed:
		t.printf("      - %s: %q\n", ch.Field, ch.Before)
	default:
		t.printf("      ~ %s: %q -> %q\n", ch.Field, ch.Before, ch.After)
	}
}

// attrs prints a create's attributes, env flattened and sorted.
func (t *textWriter) attrs(m map[string]any) {
	keys := []string{"image", "port", "volume", "restartPolicy", "state", "command", "mounts", "role", "metaSchema", "schemas", "target"}
	for _, k := range keys {
		if v, ok := m[k]; ok {
			t.printf("      %-16s %s\n", k+":", quote(v))
		}
	}
	env, _ := m["env"].(map[string]any)
	names := make([]string, 0, len(env))
	for k := range env {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		t.printf("      env.%s: %s\n", k, quote(env[k]))
	}
}

func quote(v any) string {
	s := fmt.Sprint(v)
	if s == Masked {
		return s
	}
	return fmt.Sprintf("%q", s)
}

// WriteJSON renders the plan for programs. The format is documented in the
// README; sensitive values are already masked in the plan's views.
func (p *Plan) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(p)
}

// Describe is a one-line description of an action for progress output.
func (a *Action) Describe() string {
	return strings.TrimSpace(fmt.Sprintf("%s %s %s", a.Kind.Symbol(), a.Kind, a.Object))
}

// downCount is "2 client(s)", "1 monitoring container(s)" or both.
func downCount(downs []Down) string {
	clients, services := 0, 0
	for _, d := range downs {
		if d.Service != "" {
			services++
		} else {
			clients++
		}
	}
	switch {
	case services == 0:
		return fmt.Sprintf("%d client(s)", clients)
	case clients == 0:
		return fmt.Sprintf("%d monitoring container(s)", services)
	}
	return fmt.Sprintf("%d client(s) and %d monitoring container(s)", clients, services)
}
