package redact

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkNew10kKeys builds the masker of a 10,000-client apply pass: one
// derived WEBUI_SECRET_KEY per client plus a few shared secrets.
func BenchmarkNew10kKeys(b *testing.B) {
	secrets := []string{"postgres://u:p@ss@h/db", "GOCSPX-shared-secret"}
	for i := range 10000 {
		h := sha256.Sum256([]byte(strconv.Itoa(i)))
		secrets = append(secrets, hex.EncodeToString(h[:]))
	}
	b.ReportAllocs()
	for b.Loop() {
		m := New(secrets...)
		_ = m.String("start container: " + strings.Repeat("x", 200) + secrets[5000])
	}
}
