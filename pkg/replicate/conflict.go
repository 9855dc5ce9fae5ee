package replicate

import "fmt"

// Strategy says who wins when a target row was changed outside the sync
// since the node last wrote it.
type Strategy string

const (
	SourceWins Strategy = "source_wins" // default: SQLite is the truth
	TargetWins Strategy = "target_wins"
	NewestWins Strategy = "newest_wins" // larger updated_at wins; ties: source
	OldestWins Strategy = "oldest_wins" // smaller updated_at wins; ties: source
	Manual     Strategy = "manual"      // recorded, the row is skipped until resolved
)

// Strategies are the valid strategies, default first.
var Strategies = []Strategy{SourceWins, TargetWins, NewestWins, OldestWins, Manual}

// ParseStrategy checks a strategy name ("" is the default).
func ParseStrategy(s string) (Strategy, error) {
	if s == "" {
		return SourceWins, nil
	}
	for _, v := range Strategies {
		if string(v) == s {
			return v, nil
		}
	}
	return "", fmt.Errorf("unknown conflict strategy %q (want one of %v)", s, Strategies)
}

// Outcome is the decision on one conflicting row.
type Outcome string

const (
	WriteSource Outcome = "source" // overwrite the target with the source row
	KeepTarget  Outcome = "target" // leave the target row, accept it as written
	Hold        Outcome = "manual" // leave it, record it open, skip until resolved
)

// Versions are what a conflict rule may look at: the rows' updated_at
// values when the table has one (opaque increasing integers, same units on
// both sides since the target row came from the same application), and
// whether the source deleted the row.
type Versions struct {
	SourceUpdated, TargetUpdated *int64
	SourceDeleted                bool
}

// Decide applies a strategy to one conflict. Pure.
func Decide(s Strategy, v Versions) Outcome {
	switch s {
	case TargetWins:
		return KeepTarget
	case Manual:
		return Hold
	case NewestWins, OldestWins:
		// A delete carries no time and a table without updated_at gives
		// nothing to compare: the source wins, as by default.
		if v.SourceDeleted || v.SourceUpdated == nil || v.TargetUpdated == nil {
			return WriteSource
		}
		src, tgt := *v.SourceUpdated, *v.TargetUpdated
		if s == NewestWins && tgt > src || s == OldestWins && tgt < src {
			return KeepTarget
		}
		return WriteSource
	}
	return WriteSource
}
