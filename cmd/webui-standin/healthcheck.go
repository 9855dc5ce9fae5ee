package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// healthcheck is the image's HEALTHCHECK (FROM scratch has no curl): like
// upstream's `curl -f localhost:$PORT/health | jq 'input.status == true'`.
// It returns the process exit code: 0 healthy, 1 not.
func healthcheck(getenv func(string) string, stderr io.Writer) int {
	port := getenv("PORT")
	if port == "" {
		port = defaultPort
	}
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://127.0.0.1:" + port + "/health")
	if err != nil {
		fmt.Fprintf(stderr, "healthcheck: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	var body statusBody
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&body); err != nil || resp.StatusCode != http.StatusOK || !body.Status {
		fmt.Fprintf(stderr, "healthcheck: unhealthy: HTTP %d\n", resp.StatusCode)
		return 1
	}
	return 0
}
