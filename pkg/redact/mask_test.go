package redact

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// secret is distinctive and holds every character that the echoing systems
// escape differently: quote, backslash, space, '<', '&', '%', '@', ':', '/'
// and a non-ASCII letter.
const secret = `Zq7"pa\ss w<r>d&100%@x:/é'`

func TestMaskerVariants(t *testing.T) {
	m := New(secret, "", "plain-Distinct-42")
	jsonBytes, _ := json.Marshal(secret)
	echoes := map[string]string{
		"raw":              "value is " + secret,
		"runc %q env pair": fmt.Sprintf("environment variable value can't contain null(\\x00): %q", "MYSECRET="+secret+"\x00"),
		"%+q":              fmt.Sprintf("%+q", secret),
		"json":             `{"message":` + string(jsonBytes) + `}`,
		"query escape":     "GET /x?token=" + url.QueryEscape(secret),
		"path escape":      "GET /" + url.PathEscape(secret),
		"userinfo":         "postgres://u:" + PercentEncode(secret) + "@h/db failed",
		"lower hex":        "postgres://u:" + lowerHex(PercentEncode(secret)) + "@h/db failed",
		"sql literal":      `invalid input syntax for type integer: '` + strings.ReplaceAll(secret, "'", "''") + `'`,
		"plain":            "plain-Distinct-42 in a log line",
	}
	for name, text := range echoes {
		t.Run(name, func(t *testing.T) {
			got := m.String(text)
			for _, v := range append(variants(secret), "plain-Distinct-42") {
				if len(v) > 3 && strings.Contains(got, v) {
					t.Errorf("masked text %q still holds %q", got, v)
				}
			}
			if !strings.Contains(got, Sensitive) && !strings.Contains(got, Mask) {
				t.Errorf("masked text %q has no mask", got)
			}
		})
	}
}

func TestMaskerLongestFirst(t *testing.T) {
	u := "postgres://u:pw-Unique-77@db.example.com/app"
	m := New("pw-Unique-77", u)
	if got := m.String("DATABASE_URL=" + u); got != "DATABASE_URL="+Sensitive {
		t.Errorf("got %q, want the whole URL masked", got)
	}
}

func TestNilMaskerMasksShapes(t *testing.T) {
	var m *Masker
	in := `connect postgres://app:Hunter2-xyz@db:5432/app failed; dsn host=db password='a b' user=x`
	got := m.String(in)
	for _, leak := range []string{"Hunter2-xyz", "'a b'"} {
		if strings.Contains(got, leak) {
			t.Errorf("%q leaks %q", got, leak)
		}
	}
	if !strings.Contains(got, "postgres://app:****@db:5432/app") {
		t.Errorf("URL not masked in place: %q", got)
	}
	if FromContext(context.Background()).String(in) != got {
		t.Error("a context without a masker must mask shapes like the nil masker")
	}
}

var errSentinel = errors.New("sentinel")

func TestMaskerError(t *testing.T) {
	m := New("tok-Secret-9")
	if m.Error(nil) != nil {
		t.Fatal("nil error must stay nil")
	}
	plain := fmt.Errorf("nothing secret: %w", errSentinel)
	if m.Error(plain) != plain {
		t.Error("an error without secrets must be returned as it is")
	}
	err := m.Error(fmt.Errorf("start container: token tok-Secret-9 refused: %w", errSentinel))
	if strings.Contains(err.Error(), "tok-Secret-9") {
		t.Errorf("error leaks: %v", err)
	}
	if !errors.Is(err, errSentinel) {
		t.Error("errors.Is must see through the masked error")
	}
	if errors.Unwrap(err) != nil {
		t.Error("Unwrap would hand out the unmasked original")
	}
	ctx := NewContext(context.Background(), m)
	if FromContext(ctx) != m {
		t.Error("FromContext does not return the masker NewContext stored")
	}
}

func TestURL(t *testing.T) {
	tests := []struct{ in, want, secret string }{
		{"postgres://u:secret@h:5432/db", "postgres://u:****@h:5432/db", "secret"},
		{"postgres://u@h/db", "postgres://u@h/db", ""},
		{"postgres://h/db", "postgres://h/db", ""},
		// Unencoded specials in a password over-mask rather than leak.
		{"postgres://u:p@ss/w#rd@h/db", "postgres://u:****@h/db", "p@ss/w#rd"},
		{"postgresql://u:%40%23%21@h/db?sslmode=require", "postgresql://u:****@h/db?sslmode=require", "%40%23%21"},
		{"postgres://u@h/db?password=hunter2&sslmode=disable", "postgres://u@h/db?password=****&sslmode=disable", "hunter2"},
		{"host=h user=u password='a b#c' dbname=d", "host=h user=u password=**** dbname=d", "a b#c"},
		{"host=h password=s3cr3t!", "host=h password=****", "s3cr3t!"},
	}
	for _, tt := range tests {
		got := URL(tt.in)
		if got != tt.want {
			t.Errorf("URL(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if tt.secret != "" && strings.Contains(got, tt.secret) {
			t.Errorf("URL(%q) leaks %q", tt.in, tt.secret)
		}
		if p := Passwords(tt.in); tt.secret != "" && strings.Contains(p, tt.secret) {
			t.Errorf("Passwords(%q) = %q leaks %q", tt.in, p, tt.secret)
		}
	}
}

func TestVariantsQuoted(t *testing.T) {
	// The runc message quotes the NAME=value pair as a whole: quoting is per
	// rune, so the quoted value is a substring of the quoted pair.
	pair := strconv.Quote("K=" + secret)
	if !strings.Contains(pair, unquote(strconv.Quote(secret))) {
		t.Fatal("quoted value is not a substring of the quoted pair")
	}
}

func TestMaskerWith(t *testing.T) {
	var none *Masker
	m := none.With("", "pw-With-1")
	if got := m.String("x pw-With-1 y"); got != "x "+Sensitive+" y" {
		t.Errorf("With on nil: %q", got)
	}
	m2 := m.With("other-With-2")
	if got := m2.String("pw-With-1 other-With-2"); got != Sensitive+" "+Sensitive {
		t.Errorf("With keeps the first secrets: %q", got)
	}
	if m2.With("pw-With-1") != m2 {
		t.Error("With of a known secret must not rebuild")
	}
}
