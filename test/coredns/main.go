// Command coredns is CoreDNS v1.12.2 with only the plugins the Gateway API
// conformance suite's Corefile uses (errors, log, forward, whoami: the
// coredns ConfigMap in the suite's conformance/base/manifests.yaml), built
// from its Go module for the test node, where scripts/conformance-images.sh
// packs it as registry.k8s.io/coredns/coredns:v1.12.2.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/whoami"
)

func init() {
	// The order in which the plugins handle a query: the relative order of
	// these four in CoreDNS v1.12.2's plugin.cfg (generated into
	// core/dnsserver/zdirectives.go), which the full build uses.
	dnsserver.Directives = []string{"errors", "log", "forward", "whoami"}
}

func main() { coremain.Run() }
