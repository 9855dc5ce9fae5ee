package fleet

import "github.com/distribution/reference"

// NormalizeImage writes an image reference the way the Docker engine lists
// local images: familiar form ("docker.io/library/x" → "x") with an explicit
// tag (":latest" when none and no digest). Without it, "image: x" would never
// match the locally present "x:latest" and a digest-pinned image never match
// at all. A reference that does not parse is returned unchanged (validation
// reports it).
func NormalizeImage(ref string) string {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ref
	}
	return reference.FamiliarString(reference.TagNameOnly(named))
}
