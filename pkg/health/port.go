package health

import (
	"errors"
	"net"
	"strconv"
	"syscall"
)

// PortHeld reports whether something on this host already listens on
// bind:port (bind "" is every address): it tries to listen there and lets
// go at once. Only meaningful where the Docker engine runs on this host.
func PortHeld(bind string, port int) bool {
	ln, err := net.Listen("tcp", net.JoinHostPort(bind, strconv.Itoa(port)))
	if err == nil {
		ln.Close()
		return false
	}
	return errors.Is(err, syscall.EADDRINUSE)
}
