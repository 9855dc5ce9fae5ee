package plan

import "slices"

// envKeys is the sorted union of two environments' names.
func envKeys(before, after map[string]string) []string {
	names := make([]string, 0, len(before)+len(after))
	for k := range before {
		names = append(names, k)
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	return names
}

// envCauses names each variable whose value differs ("env NAME"), in order:
// the causes of a replace (values are never shown; sensitive ones are
// digests anyway).
func envCauses(before, after map[string]string) []string {
	var out []string
	for _, k := range envKeys(before, after) {
		if before[k] != after[k] {
			out = append(out, "env "+k)
		}
	}
	return out
}
