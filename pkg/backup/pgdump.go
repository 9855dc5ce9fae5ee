package backup

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"

	"github.com/quantabase/fleetctl/pkg/redact"
)

// pgDump writes `pg_dump -Fc` of the database at rawURL to the file path,
// run on this host (Debian's postgresql-client) against the client's
// DATABASE_URL: the database is reached the way fleetctl already reaches it
// for migrations, and no secret enters a container. The password goes
// through PGPASSWORD, never the command line; pg_dump's messages are
// masked. The dump is then listed with pg_restore --list, so an unreadable
// dump fails the backup.
func pgDump(ctx context.Context, rawURL, path string, mask *redact.Masker) error {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return fmt.Errorf("pg_dump: the client's database URL is not a postgres:// URL")
	}
	env := os.Environ()
	if u.User != nil {
		if pw, ok := u.User.Password(); ok {
			env = append(env, "PGPASSWORD="+pw)
			u.User = url.User(u.User.Username())
		}
	}
	run := func(name string, args ...string) error {
		c := exec.CommandContext(ctx, name, args...)
		c.Env = env
		var stderr bytes.Buffer
		c.Stderr = &stderr
		if err := c.Run(); err != nil {
			msg := strings.TrimSpace(stderr.String())
			if msg == "" {
				msg = err.Error()
			}
			return mask.Error(fmt.Errorf("%s: %s", name, msg))
		}
		return nil
	}
	if err := run("pg_dump", "-Fc", "--no-password", "-f", path, "-d", u.String()); err != nil {
		return err
	}
	return run("pg_restore", "--list", path)
}
