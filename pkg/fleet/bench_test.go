package fleet

import (
	"fmt"
	"strings"
	"testing"

	"github.com/quantabase/fleetctl/schema"
)

// fleetOf returns a fleet file with n clients, each with a domain and env.
func fleetOf(n int) []byte {
	var sb strings.Builder
	sb.WriteString(hdr)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, "  - name: client-%d\n    port: %d\n    domain: c%d.example.com\n    displayName: Client %d\n    env: {A: \"1\"}\n", i, 1024+i, i, i)
	}
	return []byte(sb.String())
}

func BenchmarkParse10kClients(b *testing.B) {
	data := fleetOf(10000)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(data, "bench.yaml"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompileSchema is what the first Load of a process pays for the
// full validator (fleetctl version pays nothing: it loads no file).
func BenchmarkCompileSchema(b *testing.B) {
	for b.Loop() {
		if _, err := compileSchema(schema.JSON); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseSmall is one small fleet file, schema already compiled.
func BenchmarkParseSmall(b *testing.B) {
	data := fleetOf(3)
	for b.Loop() {
		if _, err := Parse(data, "bench.yaml"); err != nil {
			b.Fatal(err)
		}
	}
}
