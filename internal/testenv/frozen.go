package testenv

import (
	"net"
	"sync"
	"testing"
)

// FrozenEndpoint returns the URL (http://host:port) of a server that
// accepts connections and never answers, as a store whose process is
// stopped (SIGSTOP) or a network path that drops replies: the fault a
// shared local server cannot be put in without stopping every other test.
// It closes with the test.
func FrozenEndpoint(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never answered
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String()
}
