package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// wsClient is a hand-rolled RFC 6455 client: it masks what it sends, as
// clients must, and reads the server's unmasked frames.
type wsClient struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
}

func dialWS(t *testing.T, ts *httptest.Server) *wsClient {
	t.Helper()
	return dialWSAddr(t, ts.Listener.Addr().String())
}

func dialWSAddr(t *testing.T, addr string) *wsClient {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	var k [16]byte
	rand.Read(k[:])
	key := base64.StdEncoding.EncodeToString(k[:])
	io.WriteString(conn, "GET /_standin/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"+
		"Sec-WebSocket-Key: "+key+"\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 || !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") ||
		resp.Header.Get("Sec-WebSocket-Accept") != wsAccept(key) {
		t.Fatalf("handshake: %d %v", resp.StatusCode, resp.Header)
	}
	return &wsClient{t: t, conn: conn, br: br}
}

func (c *wsClient) send(fin bool, op byte, payload []byte) {
	c.t.Helper()
	var b bytes.Buffer
	b0 := op
	if fin {
		b0 |= 0x80
	}
	b.WriteByte(b0)
	switch n := len(payload); {
	case n <= 125:
		b.WriteByte(0x80 | byte(n))
	case n <= 0xFFFF:
		b.WriteByte(0x80 | 126)
		binary.Write(&b, binary.BigEndian, uint16(n))
	default:
		b.WriteByte(0x80 | 127)
		binary.Write(&b, binary.BigEndian, uint64(n))
	}
	mask := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	b.Write(mask[:])
	for i, p := range payload {
		b.WriteByte(p ^ mask[i%4])
	}
	if _, err := c.conn.Write(b.Bytes()); err != nil {
		c.t.Fatal(err)
	}
}

// recv reads one server frame, which must be final and unmasked.
func (c *wsClient) recv() (op byte, payload []byte) {
	c.t.Helper()
	var h [2]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		c.t.Fatal(err)
	}
	if h[0]&0x80 == 0 || h[1]&0x80 != 0 {
		c.t.Fatalf("server frame not final or masked: % x", h)
	}
	n := uint64(h[1] & 0x7F)
	switch n {
	case 126:
		var l uint16
		binary.Read(c.br, binary.BigEndian, &l)
		n = uint64(l)
	case 127:
		binary.Read(c.br, binary.BigEndian, &n)
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(c.br, payload); err != nil {
		c.t.Fatal(err)
	}
	return h[0] & 0x0F, payload
}

func (c *wsClient) expectClose(code uint16) {
	c.t.Helper()
	op, p := c.recv()
	if op != opClose || len(p) < 2 || binary.BigEndian.Uint16(p) != code {
		c.t.Fatalf("want close %d, got op %d payload % x", code, op, p)
	}
	if _, err := c.br.ReadByte(); err != io.EOF {
		c.t.Fatalf("connection still open after close: %v", err)
	}
}

func TestWebSocketEcho(t *testing.T) {
	ts, _ := newTestServer(t, nil)
	c := dialWS(t, ts)

	c.send(true, opText, []byte("hello, stand-in"))
	if op, p := c.recv(); op != opText || string(p) != "hello, stand-in" {
		t.Errorf("echo: op %d %q", op, p)
	}
	c.send(true, opText, nil) // empty message
	if op, p := c.recv(); op != opText || len(p) != 0 {
		t.Errorf("empty echo: op %d %q", op, p)
	}
	// 16-bit and 64-bit length encodings.
	for _, n := range []int{300, 70000} {
		msg := bytes.Repeat([]byte("é"), n/2)
		c.send(true, opText, msg)
		if op, p := c.recv(); op != opText || !bytes.Equal(p, msg) {
			t.Errorf("%d bytes: op %d, %d bytes back", len(msg), op, len(p))
		}
	}
	// A fragmented message with a ping in the middle.
	c.send(false, opText, []byte("frag"))
	c.send(true, opPing, []byte("p"))
	if op, p := c.recv(); op != opPong || string(p) != "p" {
		t.Errorf("pong: op %d %q", op, p)
	}
	c.send(true, opContinuation, []byte("mented"))
	if op, p := c.recv(); op != opText || string(p) != "fragmented" {
		t.Errorf("fragmented: op %d %q", op, p)
	}
	c.send(true, opBinary, []byte{0, 1, 2, 255})
	if op, p := c.recv(); op != opBinary || !bytes.Equal(p, []byte{0, 1, 2, 255}) {
		t.Errorf("binary: op %d % x", op, p)
	}
	// Closing handshake: the server echoes the code and closes.
	c.send(true, opClose, binary.BigEndian.AppendUint16(nil, closeNormal))
	c.expectClose(closeNormal)
}

func TestWebSocketProtocolErrors(t *testing.T) {
	ts, _ := newTestServer(t, nil)

	t.Run("unmasked client frame", func(t *testing.T) {
		c := dialWS(t, ts)
		c.conn.Write([]byte{0x81, 0x02, 'h', 'i'})
		c.expectClose(closeProtocol)
	})
	t.Run("invalid UTF-8 text", func(t *testing.T) {
		c := dialWS(t, ts)
		c.send(true, opText, []byte{0xff, 0xfe})
		c.expectClose(closeInvalidData)
	})
	t.Run("continuation without start", func(t *testing.T) {
		c := dialWS(t, ts)
		c.send(true, opContinuation, []byte("x"))
		c.expectClose(closeProtocol)
	})
	t.Run("too big", func(t *testing.T) {
		c := dialWS(t, ts)
		c.conn.Write([]byte{0x82, 0x80 | 127, 0, 0, 0, 0, 0x10, 0, 0, 0}) // 256 MiB announced
		c.expectClose(closeTooBig)
	})
}

func TestWebSocketShutdown(t *testing.T) {
	ts, s := newTestServer(t, nil)
	c := dialWS(t, ts)
	s.shutdown()
	c.expectClose(closeGoingAway)
}

func TestWebSocketBadHandshake(t *testing.T) {
	ts, _ := newTestServer(t, nil)
	if code, _ := do(t, "GET", ts.URL+"/_standin/ws", "", nil); code != 400 {
		t.Errorf("plain GET: %d, want 400", code)
	}
	req, _ := http.NewRequest("GET", ts.URL+"/_standin/ws", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "8")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 426 || resp.Header.Get("Sec-WebSocket-Version") != "13" {
		t.Errorf("version 8: %d", resp.StatusCode)
	}
}

// The RFC 6455 section 1.3 example.
func TestWSAccept(t *testing.T) {
	if got := wsAccept("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Errorf("got %s", got)
	}
}
