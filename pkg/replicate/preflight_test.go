package replicate

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestReachAdvice(t *testing.T) {
	if a := reachAdvice(Reachability{IPv6: []string{"2a05::1"}}); a != PoolerAdvice {
		t.Errorf("IPv6-only, unreachable: %q", a)
	}
	if a := reachAdvice(Reachability{IPv6: []string{"2a05::1"}, IPv6Reachable: true}); a != "" {
		t.Errorf("IPv6-only, reachable: %q", a)
	}
	if a := reachAdvice(Reachability{Port: "5432", IPv4: []string{"10.0.0.1"}}); !strings.Contains(a, "port 5432") {
		t.Errorf("IPv4 unreachable: %q", a)
	}
	if a := reachAdvice(Reachability{IPv4: []string{"10.0.0.1"}, IPv4Reachable: true}); a != "" {
		t.Errorf("IPv4 reachable: %q", a)
	}
}

func TestCheckReachabilityLocal(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port
	r := CheckReachability(context.Background(), "postgres://u:Secret-pw-x@127.0.0.1:"+strconv.Itoa(port)+"/db", 2*time.Second)
	if !r.IPv4Reachable || len(r.IPv4) != 1 || r.Advice != "" || r.Error != "" {
		t.Fatalf("%+v", r)
	}
	if bad := CheckReachability(context.Background(), "not a url", time.Second); bad.Error == "" {
		t.Fatalf("%+v", bad)
	}
}
