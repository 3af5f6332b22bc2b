// Command pause is the process of a pod's sandbox container: it holds the
// pod's namespaces, reaps the zombies of a shared process namespace, and
// exits on SIGINT or SIGTERM. Built static (CGO_ENABLED=0) and packed into
// an image by `meshperf image --binary` (scripts/kube-up.sh --node).
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range sig {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
