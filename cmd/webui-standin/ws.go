package main

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// A minimal RFC 6455 WebSocket echo server, enough to prove that a proxy in
// front of the stand-in passes upgrades through. No extensions, no
// subprotocols. Text and binary messages (fragmented or not) are echoed as
// single frames, pings answered, closes echoed.

const (
	wsGUID       = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
	wsMaxMessage = 1 << 20

	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA

	closeNormal      = 1000
	closeGoingAway   = 1001
	closeProtocol    = 1002
	closeInvalidData = 1007
	closeTooBig      = 1009
)

func wsAccept(key string) string {
	h := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

// headerHasToken reports whether a comma-separated header holds token (case-insensitive).
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

func (s *server) handleWS(w http.ResponseWriter, r *http.Request) {
	if !headerHasToken(r.Header, "Connection", "upgrade") || !headerHasToken(r.Header, "Upgrade", "websocket") {
		writeError(w, http.StatusBadRequest, "expected a WebSocket upgrade")
		return
	}
	if r.Header.Get("Sec-WebSocket-Version") != "13" {
		w.Header().Set("Sec-WebSocket-Version", "13")
		writeError(w, http.StatusUpgradeRequired, "unsupported Sec-WebSocket-Version")
		return
	}
	key := r.Header.Get("Sec-WebSocket-Key")
	if k, err := base64.StdEncoding.DecodeString(key); err != nil || len(k) != 16 {
		writeError(w, http.StatusBadRequest, "bad Sec-WebSocket-Key")
		return
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "hijack: "+err.Error())
		return
	}
	defer conn.Close()
	conn.SetDeadline(time.Time{}) // the server's deadlines no longer apply
	c := &wsConn{conn: conn, br: brw.Reader}
	if _, err := conn.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + wsAccept(key) + "\r\n\r\n")); err != nil {
		return
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-s.stop:
			c.writeClose(closeGoingAway)
			conn.Close()
		case <-done:
		}
	}()
	c.echo()
}

type wsConn struct {
	conn net.Conn
	br   *bufio.Reader
	wmu  sync.Mutex
}

// wsError is a protocol failure, answered with a close frame carrying code.
type wsError struct{ code uint16 }

func (e wsError) Error() string { return "websocket protocol error" }

func (c *wsConn) echo() {
	var msg []byte
	var msgOp byte // opcode of the message being assembled; 0 when none
	for {
		fin, op, payload, err := c.readFrame()
		var we wsError
		if errors.As(err, &we) {
			c.writeClose(we.code)
			return
		}
		if err != nil {
			return // connection gone
		}
		switch op {
		case opPing:
			c.writeFrame(opPong, payload)
			continue
		case opPong:
			continue
		case opClose:
			if len(payload) == 1 {
				c.writeClose(closeProtocol)
			} else if len(payload) >= 2 {
				c.writeClose(binary.BigEndian.Uint16(payload))
			} else {
				c.writeFrame(opClose, nil)
			}
			return
		case opText, opBinary:
			if msgOp != 0 {
				c.writeClose(closeProtocol) // new message inside a fragmented one
				return
			}
			msgOp, msg = op, payload
		case opContinuation:
			if msgOp == 0 {
				c.writeClose(closeProtocol)
				return
			}
			if len(msg)+len(payload) > wsMaxMessage {
				c.writeClose(closeTooBig)
				return
			}
			msg = append(msg, payload...)
		default:
			c.writeClose(closeProtocol)
			return
		}
		if !fin {
			continue
		}
		if msgOp == opText && !utf8.Valid(msg) {
			c.writeClose(closeInvalidData)
			return
		}
		if err := c.writeFrame(msgOp, msg); err != nil {
			return
		}
		msg, msgOp = nil, 0
	}
}

// readFrame reads one client frame and unmasks it. Clients must mask every
// frame (RFC 6455 5.1); control frames must be final and at most 125 bytes.
func (c *wsConn) readFrame() (fin bool, op byte, payload []byte, err error) {
	var h [8]byte
	if _, err = io.ReadFull(c.br, h[:2]); err != nil {
		return
	}
	fin, op = h[0]&0x80 != 0, h[0]&0x0F
	masked, n := h[1]&0x80 != 0, uint64(h[1]&0x7F)
	if h[0]&0x70 != 0 || !masked {
		return fin, op, nil, wsError{closeProtocol}
	}
	switch n {
	case 126:
		if _, err = io.ReadFull(c.br, h[:2]); err != nil {
			return
		}
		n = uint64(binary.BigEndian.Uint16(h[:2]))
	case 127:
		if _, err = io.ReadFull(c.br, h[:8]); err != nil {
			return
		}
		n = binary.BigEndian.Uint64(h[:8])
		if n>>63 != 0 {
			return fin, op, nil, wsError{closeProtocol}
		}
	}
	if op >= opClose && (!fin || n > 125) {
		return fin, op, nil, wsError{closeProtocol}
	}
	if n > wsMaxMessage {
		return fin, op, nil, wsError{closeTooBig}
	}
	var mask [4]byte
	if _, err = io.ReadFull(c.br, mask[:]); err != nil {
		return
	}
	payload = make([]byte, n)
	if _, err = io.ReadFull(c.br, payload); err != nil {
		return
	}
	for i := range payload {
		payload[i] ^= mask[i&3]
	}
	return fin, op, payload, nil
}

// writeFrame writes one final, unmasked server frame.
func (c *wsConn) writeFrame(op byte, payload []byte) error {
	buf := make([]byte, 0, 10+len(payload))
	buf = append(buf, 0x80|op)
	switch n := len(payload); {
	case n <= 125:
		buf = append(buf, byte(n))
	case n <= 0xFFFF:
		buf = append(buf, 126)
		buf = binary.BigEndian.AppendUint16(buf, uint16(n))
	default:
		buf = append(buf, 127)
		buf = binary.BigEndian.AppendUint64(buf, uint64(n))
	}
	buf = append(buf, payload...)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.conn.Write(buf)
	return err
}

func (c *wsConn) writeClose(code uint16) error {
	return c.writeFrame(opClose, binary.BigEndian.AppendUint16(nil, code))
}
