package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// secretKeyBytes is how much randomness a generated key holds (base64 of it
// is the key).
const secretKeyBytes = 24

// maxKeyFile bounds the read of the key file: anything larger is not a key.
const maxKeyFile = 64 << 10

// resolveSecretKey does what the app's start.sh does when neither
// WEBUI_SECRET_KEY nor WEBUI_JWT_SECRET_KEY is set: it loads the key from
// the key file (WEBUI_SECRET_KEY_FILE, default /app/backend/.webui_secret_key,
// outside the data volume), writing a new random one there first when the
// file does not exist. It returns where the key came from, for the log.
//
// Like start.sh (echo "$(… | base64)" > file; KEY=$(cat file)) the file holds
// the key and a newline, and trailing newlines are not part of the key. An
// empty key file, or one that cannot be written, is an error: the app
// refuses to start without a key.
func resolveSecretKey(c *config) (string, error) {
	if c.secretKey != "" {
		return "environment", nil
	}
	p := c.secretKeyFile
	key, err := readKeyFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		if err := writeKeyFile(p); err != nil {
			return "", fmt.Errorf("WEBUI_SECRET_KEY not set and %s cannot be written: %w", p, err)
		}
		if key, err = readKeyFile(p); err == nil {
			c.secretKey = key
			return "generated into " + p, nil
		}
	}
	if err != nil {
		return "", fmt.Errorf("WEBUI_SECRET_KEY not set and %s cannot be read: %w", p, err)
	}
	c.secretKey = key
	return "loaded from " + p, nil
}

func readKeyFile(p string) (string, error) {
	// A FIFO or device there would block or never end: regular files only.
	if st, err := os.Stat(p); err != nil {
		return "", err
	} else if !st.Mode().IsRegular() {
		return "", errors.New("not a regular file")
	}
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return "", err
	}
	if len(raw) > maxKeyFile {
		return "", fmt.Errorf("larger than %d bytes", maxKeyFile)
	}
	key := strings.TrimRight(string(raw), "\n")
	if key == "" {
		return "", errors.New("the file is empty")
	}
	return key, nil
}

// writeKeyFile writes a fresh key atomically (temp file, then a link that
// fails if another start won the race), so a crash never leaves half a key.
func writeKeyFile(p string) error {
	raw := make([]byte, secretKeyBytes)
	if _, err := rand.Read(raw); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".webui_secret_key.*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(base64.StdEncoding.EncodeToString(raw) + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), p); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return nil
}
