package migrate

import "testing"

func TestRealTextExact(t *testing.T) {
	for in, want := range map[float64]string{1: "1.0", 1e20: "1.0e+20", 0.1: "0.1", -2.5: "-2.5", 1.5e-7: "1.5e-07", 123456789012345680: "1.2345678901234568e+17"} {
		if got := realText(in); got != want {
			t.Errorf("realText(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestDuplicateKeys(t *testing.T) {
	for in, want := range map[string]bool{
		`{"a":1,"a":2}`: true, `{"a":1,"b":{"a":2}}`: false, `{"a":{"b":1,"b":2}}`: true, `[{"a":1},{"a":2}]`: false,
		`{"a":[1,2],"b":3,"a":4}`: true, `"a:b:c"`: false, `{"x":"a:b","y":1}`: false,
	} {
		if got := duplicateKeys(in); got != want {
			t.Errorf("duplicateKeys(%s) = %v", in, got)
		}
	}
}

func TestPGDefault(t *testing.T) {
	for _, c := range []struct {
		in, typ, want string
		ok            bool
	}{
		{"0", "boolean", "false", true}, {"(1)", "boolean", "true", true}, {"'x'", "text", "'x'", true},
		{"'{}'", "json", "'{}'", true}, {"(CURRENT_TIMESTAMP)", "timestamp", "CURRENT_TIMESTAMP", true},
		{"42", "bigint", "42", true}, {"1.5", "text", "'1.5'", true}, {"datetime('now')", "text", "", false},
		{"'x'", "bigint", "", false}, {"NULL", "bigint", "NULL", true},
	} {
		got, ok := pgDefault(c.in, c.typ)
		if got != c.want || ok != c.ok {
			t.Errorf("pgDefault(%q, %s) = %q %v, want %q %v", c.in, c.typ, got, ok, c.want, c.ok)
		}
	}
}
