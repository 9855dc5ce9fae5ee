package plan

import (
	"fmt"
	"strings"
)

// sites prints a sync-sites action: one line per file, next to the
// container actions, with its causes.
func (t *textWriter) sites(a *Action) {
	t.printf("  %s sites %s: write atomically, test (%s), then reload nginx once (%s); restore every file if the test fails\n",
		a.Kind.Symbol(), a.Object, argv(a.After["test"]), argv(a.After["reload"]))
	if len(a.Sites) == 0 { // a retry of a reload an earlier apply did not finish
		for _, c := range a.Causes {
			t.printf("      # %s\n", c)
		}
	}
	for _, ch := range a.Sites {
		who := ""
		if ch.Client != "" {
			who = " (client " + ch.Client + ")"
		}
		t.printf("      %s site %s%s: %s\n", ch.Op.Symbol(), ch.File, who, strings.Join(ch.Causes, "; "))
	}
	t.printf("\n")
}

// argv prints a command held in a view ([]string when built, []any when read
// back from a saved plan).
func argv(v any) string {
	switch l := v.(type) {
	case []string:
		return strings.Join(l, " ")
	case []any:
		parts := make([]string, len(l))
		for i, x := range l {
			parts[i] = fmt.Sprint(x)
		}
		return strings.Join(parts, " ")
	}
	return "?"
}
