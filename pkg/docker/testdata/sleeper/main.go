// Command sleeper is a tiny test workload for pkg/docker's tests (not the
// Open WebUI stand-in): it reports and writes a marker file in its data
// volume, prints a few lines on stdout and stderr, answers HTTP on :3000 and
// exits on SIGTERM. With -probe it checks that :3000 answers (healthcheck).
package main

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-probe" {
		c, err := net.DialTimeout("tcp", "127.0.0.1:3000", time.Second)
		if err != nil {
			os.Exit(1)
		}
		c.Close()
		return
	}
	dir := os.Getenv("DATA_DIR")
	if dir == "" {
		dir = "/data"
	}
	if b, err := os.ReadFile(dir + "/marker"); err == nil {
		fmt.Printf("found marker: %s\n", b)
	} else {
		fmt.Println("no marker")
	}
	if m := os.Getenv("MARK"); m != "" {
		if err := os.WriteFile(dir+"/marker", []byte(m), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "write marker:", err)
		}
	}
	for i := 1; i <= 5; i++ {
		fmt.Printf("line %d\n", i)
	}
	fmt.Fprintln(os.Stderr, "to stderr")

	ln, err := net.Listen("tcp", ":3000")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
				_, _ = c.Read(buf)
				body := `{"status":true,"name":"` + os.Getenv("WEBUI_NAME") + `"}`
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
			}()
		}
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	fmt.Println("bye")
}
