// Command coredns is CoreDNS v1.12.2 with the plugins meshperf's test node
// uses, built from its Go module: the node's cluster DNS (ready, errors,
// rewrite, kubernetes: scripts/kube-node.sh's Corefile) and the Gateway API
// conformance suite's own CoreDNS (errors, log, forward, whoami: the coredns
// ConfigMap in the suite's conformance/base/manifests.yaml), for which
// scripts/conformance-images.sh packs it as
// registry.k8s.io/coredns/coredns:v1.12.2. scripts/coredns-build.sh builds it.
//
// The kubernetes plugin is built against k8s.io/client-go v0.37.2, the
// release the module proxy serves here (CoreDNS v1.12.2 names v0.32.3).
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/rewrite"
	_ "github.com/coredns/coredns/plugin/whoami"
)

func init() {
	// The order in which the plugins handle a query: the relative order of
	// these in CoreDNS v1.12.2's plugin.cfg (generated into
	// core/dnsserver/zdirectives.go), which the full build uses.
	dnsserver.Directives = []string{"ready", "errors", "log", "rewrite", "kubernetes", "forward", "whoami"}
}

func main() { coremain.Run() }
