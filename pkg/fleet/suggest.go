package fleet

import (
	"strings"
)

// unknownField words the error for a key the schema does not allow: a
// suggestion when one known key is close (a typo or wrong case), else the list.
func unknownField(key string, known []string) string {
	if best := suggest(key, known); best != "" {
		return "unknown field; did you mean " + quote(best) + "?"
	}
	return "unknown field; allowed: " + strings.Join(known, ", ")
}

// suggest returns the known key closest to key, or "" when none is close
// enough to be a plausible typo.
func suggest(key string, known []string) string {
	if len(key) > 64 {
		return ""
	}
	lk := strings.ToLower(key)
	best, bestDist := "", 0
	for _, k := range known {
		d := editDistance(lk, strings.ToLower(k))
		if best == "" || d < bestDist {
			best, bestDist = k, d
		}
	}
	limit := 1
	if len(key) >= 5 {
		limit = 2
	}
	if best == "" || bestDist > limit {
		return ""
	}
	return best
}

// editDistance is the optimal-string-alignment distance: insertions,
// deletions, substitutions and adjacent transpositions ("prot" → "port" is 1).
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
