package plan

import (
	"strconv"
	"strings"
)

// actions prints the actions, grouped under one heading per host when the
// fleet has hosts (each host's reachability and client count first).
func (t *textWriter) actions(p *Plan) {
	if len(p.Hosts) == 0 {
		for i := range p.Actions {
			t.action(&p.Actions[i])
		}
		return
	}
	for _, h := range p.Hosts {
		t.printf("Host %s: %s\n", h.Name, hostLine(&h, p))
		for i := range p.Actions {
			if p.Actions[i].Host == h.Name {
				t.action(&p.Actions[i])
			}
		}
		if len(h.Unknown) > 0 {
			t.printf("  ? unknown, nothing planned: %s\n\n", strings.Join(h.Unknown, ", "))
		}
	}
	for i := range p.Actions {
		if p.Actions[i].Host == "" {
			t.action(&p.Actions[i])
		}
	}
}

func hostLine(h *HostStatus, p *Plan) string {
	var b strings.Builder
	if !h.Reachable {
		b.WriteString("UNREACHABLE (" + h.Error + ")")
	} else {
		b.WriteString("reachable")
	}
	b.WriteString(", " + plural(len(h.Clients), "client"))
	n := 0
	for i := range p.Actions {
		if p.Actions[i].Host == h.Name {
			n++
		}
	}
	if n == 0 && h.Reachable {
		b.WriteString(", no changes")
	}
	if h.Lock {
		b.WriteString(", holds the lock")
	}
	if n == 0 && len(h.Unknown) == 0 {
		b.WriteString("\n") // a blank line, as after an action
	}
	return b.String()
}

func plural(n int, noun string) string {
	s := strconv.Itoa(n) + " " + noun
	if n != 1 {
		s += "s"
	}
	return s
}
