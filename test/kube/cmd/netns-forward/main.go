// Command netns-forward forwards TCP connections from an address in its
// own network namespace to an address in another one, so that programs on
// the host reach a server in the test node's namespace (its API server)
// without any interface or route on the host:
//
//	netns-forward LISTEN NETNS-FILE TARGET
//	netns-forward 127.0.0.1:0 /run/netns/meshperf-node-x 10.200.0.1:6443
//
// It prints the address it listens on (port 0 picks one), then serves until
// SIGTERM or SIGINT.
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: netns-forward LISTEN NETNS-FILE TARGET")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2], os.Args[3]); err != nil {
		fmt.Fprintln(os.Stderr, "netns-forward:", err)
		os.Exit(1)
	}
}

func run(listen, nsFile, target string) error {
	ns, err := os.Open(nsFile)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().String())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() { <-sig; ln.Close() }()
	for {
		c, err := ln.Accept()
		if err != nil {
			return nil
		}
		go forward(c, int(ns.Fd()), target)
	}
}

// dialIn dials target from inside the network namespace ns: the socket is
// made on a thread switched into it. The thread stays locked to its
// goroutine, which ends, so Go discards the thread and no other goroutine
// runs in that namespace.
func dialIn(ns int, target string) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Setns(ns, unix.CLONE_NEWNET); err != nil {
			ch <- result{err: fmt.Errorf("setns: %w", err)}
			return
		}
		c, err := net.DialTimeout("tcp", target, 10*time.Second)
		ch <- result{c, err}
	}()
	r := <-ch
	return r.c, r.err
}

func forward(c net.Conn, ns int, target string) {
	defer c.Close()
	t, err := dialIn(ns, target)
	if err != nil {
		fmt.Fprintln(os.Stderr, "netns-forward:", err)
		return
	}
	defer t.Close()
	var wg sync.WaitGroup
	wg.Add(2)
	pipe := func(dst, src net.Conn) {
		defer wg.Done()
		io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
	}
	go pipe(t, c)
	go pipe(c, t)
	wg.Wait()
}
