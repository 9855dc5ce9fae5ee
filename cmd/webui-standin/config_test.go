package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadConfigDefaults(t *testing.T) {
	c, err := loadConfig(mapEnv{}.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	if c.port != "8080" || c.dataDir != "/app/backend/data" || c.name != "Open WebUI" || c.exitCode != -1 {
		t.Errorf("defaults: %+v", c)
	}
	if c.db != (dbConfig{backend: "sqlite", path: "/app/backend/data/webui.db"}) {
		t.Errorf("db: %+v", c.db)
	}
}

func TestLoadConfigKnobs(t *testing.T) {
	c, err := loadConfig(mapEnv{
		"PORT": "9000", "DATA_DIR": "/d", "WEBUI_NAME": "", "STANDIN_START_DELAY": "1.5s",
		"STANDIN_UNHEALTHY": "1", "STANDIN_EXIT_CODE": "3",
	}.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	if c.port != "9000" || c.db.path != "/d/webui.db" || c.name != "" || c.startDelay != 1500*time.Millisecond ||
		!c.unhealthy || c.exitCode != 3 {
		t.Errorf("got %+v", c)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	for _, e := range []mapEnv{
		{"PORT": "http"},
		{"PORT": "70000"},
		{"STANDIN_START_DELAY": "5"},
		{"STANDIN_UNHEALTHY": "maybe"},
		{"STANDIN_EXIT_CODE": "256"},
		{"DATABASE_URL": "mysql://u:hunter2@db/x"},
	} {
		if _, err := loadConfig(e.LookupEnv); err == nil {
			t.Errorf("%v: no error", e)
		} else if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error leaks the password: %v", err)
		}
	}
}

func TestParseDatabaseURL(t *testing.T) {
	wd, _ := filepath.Abs(".")
	ok := map[string]string{
		"":                             "/data/webui.db",
		"sqlite:////abs/dir/webui.db":  "/abs/dir/webui.db",
		"sqlite:///rel/webui.db":       filepath.Join(wd, "rel/webui.db"),
		"sqlite:////x/y.db?timeout=30": "/x/y.db",
	}
	for in, want := range ok {
		c, err := parseDatabaseURL(in, "/data")
		if err != nil || c.backend != "sqlite" || c.path != want {
			t.Errorf("%q: got %+v, %v; want %s", in, c, err, want)
		}
	}
	for _, in := range []string{"postgres://u:secret@h/db", "postgresql://u:secret@h/db", "postgresql+psycopg2://u:secret@h/db"} {
		c, err := parseDatabaseURL(in, "/data")
		if err != nil || c.backend != "postgres" || c.url != "postgres://u:secret@h/db" {
			t.Errorf("%q: got %+v, %v", in, c, err)
		}
	}
	bad := map[string]string{
		"mysql://u:secret@h/db": `unsupported scheme "mysql"`,
		"u:secret@h://x":        `unsupported scheme "?"`,
		"sqlite://":             "needs a file path",
		"sqlite:///:memory:":    "needs a file path",
		"/just/a/path":          "not a URL",
	}
	for in, want := range bad {
		_, err := parseDatabaseURL(in, "/data")
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "secret") {
			t.Errorf("%q: got %v, want error containing %q (and no secret)", in, err, want)
		}
	}
}
