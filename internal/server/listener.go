package server

import (
	"net"
	"sync"
	"time"
)

// The API's HTTP server bounds what slow or idle clients hold: a client
// has ReadHeaderTimeout to send its headers, ReadTimeout for the whole
// request, WriteTimeout for the response (event streams set their own
// deadline per write instead, see runEvents), and a kept-alive connection
// is closed after IdleTimeout unused. At most MaxConnections connections
// are open at once: beyond them, new ones wait in the kernel's backlog.
// (Variables, so that tests can shorten them.)
var (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 60 * time.Second
	idleTimeout       = 60 * time.Second
	// sseWriteTimeout bounds each write of an event stream: a client that
	// stops reading is dropped.
	sseWriteTimeout = 30 * time.Second
)

const (
	// DefaultMaxConnections is the connection cap when Options leave it 0.
	DefaultMaxConnections = 1024
	// MaxMaxConnections bounds the cap an operator may set.
	MaxMaxConnections = 1 << 20
)

// limitListener accepts at most cap(slots) connections at once; Accept
// waits for one to close.
type limitListener struct {
	net.Listener
	slots     chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

func newLimitListener(l net.Listener, n int) *limitListener {
	return &limitListener{Listener: l, slots: make(chan struct{}, n), done: make(chan struct{})}
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.slots }}, nil
}

func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// limitConn gives its slot back when closed, once.
type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
