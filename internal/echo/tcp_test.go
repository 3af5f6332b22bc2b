package echo

import (
	"context"
	"io"
	"net"
	"testing"
	"time"
)

func TestTCPEcho(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	delay, _ := ParseDelay("20ms")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeTCP(ctx, ln, TCPOptions{Delay: delay}) }()

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	for _, msg := range []string{"hello\n", "again, longer\n"} {
		start := time.Now()
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatal(err)
		}
		if string(got) != msg {
			t.Errorf("got %q, want %q", got, msg)
		}
		if took := time.Since(start); took < 20*time.Millisecond {
			t.Errorf("answered in %v, before the 20ms delay", took)
		}
	}
	// Stopping closes open connections too.
	cancel()
	if err := <-done; err != nil {
		t.Errorf("ServeTCP: %v", err)
	}
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("connection still open after the server stopped")
	}
}
