package fleet

import (
	"net/url"
	"strings"
	"testing"

	"github.com/quantabase/fleetctl/pkg/redact"
)

// hostilePasswords contain every character that breaks naive URL building.
var hostilePasswords = []string{
	"p@ss#w0rd!%&:/x",
	"@#!%&:/",
	"a/b@c:d#e",
	"100%&sure",
	"ends-with-@",
	"::::",
	"pass word?x=1",
}

func TestSupabaseURL(t *testing.T) {
	for _, pw := range hostilePasswords {
		for _, mode := range []SupabaseMode{"", SupabaseTransaction, SupabaseSession} {
			t.Run(pw+"/"+string(mode), func(t *testing.T) {
				raw := SupabaseURL("abcdefghijklmnopqrst", "eu-central-1", pw, mode)
				u, err := url.Parse(raw)
				if err != nil {
					t.Fatalf("parse: %v", err)
				}
				if got, _ := u.User.Password(); got != pw {
					t.Errorf("password round trip: got %q want %q", got, pw)
				}
				if u.User.Username() != "postgres.abcdefghijklmnopqrst" {
					t.Errorf("user = %q", u.User.Username())
				}
				if u.Hostname() != "aws-0-eu-central-1.pooler.supabase.com" {
					t.Errorf("host = %q", u.Hostname())
				}
				wantPort := "6543"
				if mode == SupabaseSession {
					wantPort = "5432"
				}
				if u.Port() != wantPort {
					t.Errorf("port = %q, want %s", u.Port(), wantPort)
				}
				if u.Path != "/postgres" {
					t.Errorf("path = %q", u.Path)
				}
				assertMasked(t, redact.URL(raw), pw)
			})
		}
	}
}

func assertMasked(t *testing.T, out, pw string) {
	t.Helper()
	if strings.Contains(out, pw) || strings.Contains(out, url.QueryEscape(pw)) || strings.Contains(out, redact.PercentEncode(pw)) {
		t.Errorf("masked URL %q shows the password", out)
	}
	if !strings.Contains(out, redact.Mask) {
		t.Errorf("masked URL %q has no mask", out)
	}
}

func TestDatabaseSpec(t *testing.T) {
	const pw = "p@ss#w0rd!%&:/x"
	tests := []struct {
		name string
		db   string
		want []string // diagnostics; none when empty
		url  string   // expected ConnURL when valid
	}{
		{name: "supabase transaction", db: "      backend: postgres\n      supabase: {projectRef: abc, region: eu-central-1, password: \"${env:PW}\"}\n",
			url: SupabaseURL("abc", "eu-central-1", pw, "")},
		{name: "supabase session with pgvector", db: "      backend: postgres\n      vector: pgvector\n      supabase: {projectRef: abc, region: us-east-1, password: \"${env:PW}\", mode: session}\n",
			url: SupabaseURL("abc", "us-east-1", pw, SupabaseSession)},
		{name: "url and supabase", db: "      backend: postgres\n      url: ${env:DB}\n      supabase: {projectRef: abc, region: eu-central-1, password: \"${env:PW}\"}\n",
			want: []string{"clients[0].database.supabase: set either url or supabase, not both"}},
		{name: "supabase on sqlite", db: "      supabase: {projectRef: abc, region: eu-central-1, password: \"${env:PW}\"}\n",
			want: []string{"clients[0].database.supabase: supabase is only used with backend: postgres"}},
		{name: "vector on sqlite", db: "      vector: pgvector\n",
			want: []string{"clients[0].database.vector: vector is only used with backend: postgres"}},
		{name: "bad vector", db: "      backend: postgres\n      url: ${env:DB}\n      vector: chroma\n",
			want: []string{"clients[0].database.vector: must be one of pgvector"}},
		{name: "bad region", db: "      backend: postgres\n      supabase: {projectRef: abc, region: \"eu central\", password: \"${env:PW}\"}\n",
			want: []string{"clients[0].database.supabase.region: must be an AWS region"}},
		{name: "literal password", db: "      backend: postgres\n      supabase: {projectRef: abc, region: eu-central-1, password: \"" + pw + "\"}\n",
			want: []string{"clients[0].database.supabase.password: a secret must be a reference"}},
		{name: "missing password", db: "      backend: postgres\n      supabase: {projectRef: abc, region: eu-central-1}\n",
			want: []string{"clients[0].database.supabase.password: required field is missing"}},
		{name: "bad mode", db: "      backend: postgres\n      supabase: {projectRef: abc, region: eu-central-1, password: \"${env:PW}\", mode: direct}\n",
			want: []string{"clients[0].database.supabase.mode: must be one of transaction, session"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := hdr + one + "    database:\n" + tt.db
			s, err := Parse([]byte(in), "f.yaml")
			if len(tt.want) > 0 {
				if err == nil {
					t.Fatalf("no error, want %q", tt.want)
				}
				for _, w := range tt.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err.Error(), w)
					}
				}
				if strings.Contains(err.Error(), pw) {
					t.Errorf("error shows the password: %s", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			secrets, err := Resolver{LookupEnv: func(k string) (string, bool) {
				return map[string]string{"SEED": "seed", "PW": pw, "DB": "postgres://x"}[k], true
			}}.Resolve(s)
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if got := s.Clients[0].Database.ConnURL(secrets); got != tt.url {
				t.Errorf("ConnURL = %q, want %q", got, tt.url)
			}
		})
	}
}
