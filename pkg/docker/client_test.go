package docker_test

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quantabase/fleetctl/pkg/docker"
)

func TestNewNegotiatesAndProbesLocalhost(t *testing.T) {
	e := newEnv(t)
	if v := e.c.APIVersion(); v == "" {
		t.Error("no API version negotiated")
	} else {
		t.Logf("engine %s, API %s", e.c.Host(), v)
	}
	if e.c.ProbeHost() != "127.0.0.1" && e.c.Host() == "unix:///var/run/docker.sock" {
		t.Errorf("ProbeHost() = %q for a local engine", e.c.ProbeHost())
	}
}

func TestNewFailsClearlyWhenUnreachable(t *testing.T) {
	port := freePort(t) // nothing listens there any more
	host := "tcp://127.0.0.1:" + strconv.Itoa(port)
	t.Setenv("DOCKER_HOST", host)
	t.Setenv("DOCKER_TLS_VERIFY", "")
	t.Setenv("DOCKER_CERT_PATH", "")
	start := time.Now()
	c, err := docker.New(context.Background())
	if err == nil {
		c.Close()
		t.Fatal("New succeeded against a closed port")
	}
	if want := "cannot reach the Docker engine at " + host; !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v, want it to contain %q", err, want)
	}
	if time.Since(start) > 15*time.Second {
		t.Errorf("New took %s to fail", time.Since(start))
	}
}

// A registry that accepts connections and never answers must not hang a
// pull past the caller's context.
func TestPullImageBoundedByContext(t *testing.T) {
	e := newEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c) // silent: never answer
		}
	}()
	ref := ln.Addr().String() + "/fleetctl-test/silent:" + e.fleet
	ctx, cancel := context.WithTimeout(e.ctx, 2*time.Second)
	defer cancel()
	start := time.Now()
	err = e.c.PullImage(ctx, ref)
	took := time.Since(start)
	if err == nil {
		t.Fatal("pull from a silent registry succeeded")
	}
	t.Logf("after %s: %v", took.Round(time.Millisecond), err)
	if took > 10*time.Second {
		t.Errorf("pull took %s with a 2s context", took)
	}
	if !strings.Contains(err.Error(), ref) || !strings.Contains(err.Error(), "pullPolicy") {
		t.Errorf("error does not name the image and pullPolicy: %v", err)
	}
}
