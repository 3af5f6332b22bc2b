// meshperf's replacement for lego v5's providers/dns/zz_gen_dns_providers.go,
// copied over it by scripts/traefik-image.sh in a build-time copy of lego: the
// original imports all of lego's ~220 DNS-01 providers, and the module proxy
// refuses the SDKs of 14 of them (403), so traefik cannot link with it. This
// file keeps the one function traefik calls and builds no provider: an ACME
// resolver with a DNS challenge fails with this error. HTTP-01 and TLS-ALPN-01
// challenges are unaffected; the Gateway API suite uses none of them.

package dns

import (
	"fmt"

	"github.com/go-acme/lego/v5/challenge"
)

// NewDNSChallengeProviderByName refuses every provider name.
func NewDNSChallengeProviderByName(name string) (challenge.Provider, error) {
	return nil, fmt.Errorf("DNS-01 provider %q is not built into this traefik (meshperf test build, see test/traefik)", name)
}
