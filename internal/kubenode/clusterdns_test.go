package kubenode

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"
)

// TestClusterDNS asks the handler through Go's own resolver over UDP and
// TCP on 127.0.0.1, with a fixed table of Services in place of the API
// server's (the node's tests use the real one).
func TestClusterDNS(t *testing.T) {
	table := map[string][]netip.Addr{
		"mesh/echo":     {netip.MustParseAddr("10.96.0.10")},
		"mesh/headless": {netip.MustParseAddr("10.244.0.5"), netip.MustParseAddr("10.244.0.6")},
		"mesh/empty":    nil,
		"traefik-mesh/traefik-mesh-echo-v1-6d61657368-mesh": {netip.MustParseAddr("10.96.0.20")},
	}
	lookup := func(_ context.Context, ns, name string) ([]netip.Addr, bool, error) {
		if ns == "broken" {
			return nil, false, errors.New("api server down")
		}
		a, ok := table[ns+"/"+name]
		return a, ok, nil
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	go DNSHandler{Domain: ClusterDomain, Lookup: lookup}.Serve(ctx, pc, l)

	for _, network := range []string{"udp", "tcp"} {
		r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, pc.LocalAddr().String())
		}}
		cases := []struct {
			name    string
			want    []string
			notHost bool // NXDOMAIN
		}{
			{name: "echo.mesh.svc.cluster.local.", want: []string{"10.96.0.10"}},
			{name: "ECHO.Mesh.svc.cluster.local.", want: []string{"10.96.0.10"}},
			{name: "headless.mesh.svc.cluster.local.", want: []string{"10.244.0.5", "10.244.0.6"}},
			{name: "other.mesh.svc.cluster.local.", notHost: true},
			{name: "echo.other.svc.cluster.local.", notHost: true},
			{name: "mesh.svc.cluster.local.", notHost: true},
			{name: "example.org.", notHost: true},
			{name: "echo-v1.mesh.traefik.mesh.", want: []string{"10.96.0.20"}},
			{name: "echo.mesh.traefik.mesh.", notHost: true},
			{name: "mesh.traefik.mesh.", notHost: true},
			{name: "a.echo-v1.mesh.traefik.mesh.", notHost: true},
		}
		for _, c := range cases {
			t.Run(network+"/"+c.name, func(t *testing.T) {
				qctx, qcancel := context.WithTimeout(ctx, 5*time.Second)
				defer qcancel()
				got, err := r.LookupHost(qctx, c.name)
				if c.notHost {
					var de *net.DNSError
					if !errors.As(err, &de) || !de.IsNotFound {
						t.Fatalf("got %v, %v; want not found", got, err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				slices.Sort(got)
				if !slices.Equal(got, c.want) {
					t.Errorf("got %v, want %v", got, c.want)
				}
			})
		}
		t.Run(network+"/servfail", func(t *testing.T) {
			qctx, qcancel := context.WithTimeout(ctx, 5*time.Second)
			defer qcancel()
			_, err := r.LookupHost(qctx, "x.broken.svc.cluster.local.")
			var de *net.DNSError
			if !errors.As(err, &de) || de.IsNotFound {
				t.Fatalf("got %v; want a failure that is not not-found", err)
			}
		})
		t.Run(network+"/nodata", func(t *testing.T) {
			qctx, qcancel := context.WithTimeout(ctx, 5*time.Second)
			defer qcancel()
			got, err := r.LookupIP(qctx, "ip6", "echo.mesh.svc.cluster.local.")
			var de *net.DNSError
			if err == nil || !errors.As(err, &de) || !de.IsNotFound {
				t.Fatalf("AAAA of a Service with only IPv4: got %v, %v; want no addresses", got, err)
			}
		})
	}
	if got := (DNSHandler{Domain: ClusterDomain, Lookup: lookup}).Answer(ctx, []byte{1, 2, 3}); got != nil {
		t.Errorf("garbage answered with %d bytes", len(got))
	}
}
