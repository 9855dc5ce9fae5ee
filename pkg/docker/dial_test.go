package docker

import (
	"context"
	"strings"
	"testing"
)

func TestDialTLSErrorsNeverQuoteTheKey(t *testing.T) {
	const key = "-----BEGIN PRIVATE KEY-----\ndial-key-secret-5521\n-----END PRIVATE KEY-----\n"
	for name, ep := range map[string]Endpoint{
		"bad pair":   {Host: "tcp://127.0.0.1:1", Cert: []byte("not a cert"), Key: []byte(key)},
		"not tcp":    {Host: "unix:///nowhere.sock", Key: []byte(key)},
		"no ca pem":  {Host: "tcp://127.0.0.1:1", CA: []byte("dial-key-secret-5521"), Cert: []byte(key), Key: []byte(key)},
		"bad scheme": {Host: "ftp://x", Key: []byte(key)},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Dial(context.Background(), ep)
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), "dial-key-secret-5521") {
				t.Fatalf("error quotes the key: %v", err)
			}
		})
	}
}
