package kubenode

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/dns/dnsmessage"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// The test node has no CoreDNS (no image of it can be had here), yet the
// Gateway API's mesh tests name Services (echo, echo-v1.<namespace>): its
// kubelet gives pods nameserver NodeIP (kube-node.sh's clusterDNS), and
// ClusterDNS answers there. It is a stand-in for a cluster DNS, kept
// minimal: A records of Services, nothing else.
//
//   - <service>.<namespace>.svc.<domain>: the Service's ClusterIP, or for a
//     headless Service the ready addresses of its EndpointSlices;
//   - <service>.<namespace>.traefik.mesh: the ClusterIP of Traefik Mesh's
//     shadow Service of it, traefik-mesh-<service>-6d61657368-<namespace>
//     in namespace traefik-mesh: the rewrite Traefik Mesh's prepare step
//     adds to CoreDNS's Corefile (addStubDomain in its pkg/dns/dns.go,
//     v1.4.8), for a Traefik Mesh installed in namespace traefik-mesh
//     (internal/conformance's TestTraefikMeshNode);
//   - a name the cluster has but a type it has none of (AAAA, SRV, ...):
//     an empty answer (NOERROR);
//   - any other name: NXDOMAIN (there is no upstream to ask).
//
// It reads the API server at most once a second, over UDP and TCP.

// ClusterDomain is the kubelet's clusterDomain.
const ClusterDomain = "cluster.local"

// ServiceAddrs answers the addresses of a Service; found is false when
// the cluster has no such Service.
type ServiceAddrs func(ctx context.Context, namespace, name string) (addrs []netip.Addr, found bool, err error)

// DNSHandler answers one DNS query message with the response to send.
type DNSHandler struct {
	Domain string
	Lookup ServiceAddrs
}

// maxDNSMessage bounds a query read (UDP and TCP alike).
const maxDNSMessage = 4096

// Answer is the response to query, nil when query is not worth one (not
// a parseable query).
func (h DNSHandler) Answer(ctx context.Context, query []byte) []byte {
	var p dnsmessage.Parser
	hdr, err := p.Start(query)
	if err != nil || hdr.Response {
		return nil
	}
	qs, err := p.AllQuestions()
	if err != nil {
		return nil
	}
	resp := dnsmessage.Header{ID: hdr.ID, Response: true, Authoritative: true, RecursionDesired: hdr.RecursionDesired, OpCode: hdr.OpCode}
	if hdr.OpCode != 0 || len(qs) != 1 {
		resp.RCode = dnsmessage.RCodeNotImplemented
		return build(resp, qs, nil)
	}
	q := qs[0]
	ns, name, ok := h.serviceName(q.Name.String())
	if !ok || q.Class != dnsmessage.ClassINET {
		resp.RCode = dnsmessage.RCodeNameError
		return build(resp, qs, nil)
	}
	addrs, found, err := h.Lookup(ctx, ns, name)
	switch {
	case err != nil:
		resp.RCode = dnsmessage.RCodeServerFailure
		return build(resp, qs, nil)
	case !found:
		resp.RCode = dnsmessage.RCodeNameError
		return build(resp, qs, nil)
	}
	var answers []netip.Addr
	for _, a := range addrs {
		if q.Type == dnsmessage.TypeA && a.Is4() || q.Type == dnsmessage.TypeAAAA && a.Is6() {
			answers = append(answers, a)
		}
	}
	return build(resp, qs, answers)
}

// TraefikMeshNamespace is where the stand-in expects Traefik Mesh's
// shadow Services (the namespace it is installed in).
const TraefikMeshNamespace = "traefik-mesh"

// serviceName splits <service>.<namespace>.svc.<domain>. into its parts,
// or names the shadow Service of <service>.<namespace>.traefik.mesh.
func (h DNSHandler) serviceName(fqdn string) (ns, name string, ok bool) {
	n := strings.ToLower(strings.TrimSuffix(fqdn, "."))
	if rest, ok := strings.CutSuffix(n, ".traefik.mesh"); ok {
		parts := strings.Split(rest, ".")
		if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
			return "", "", false
		}
		return TraefikMeshNamespace, TraefikMeshNamespace + "-" + parts[0] + "-6d61657368-" + parts[1], true
	}
	rest, ok := strings.CutSuffix(n, ".svc."+h.Domain)
	if !ok {
		return "", "", false
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return "", "", false
	}
	return parts[1], parts[0], true
}

func build(h dnsmessage.Header, qs []dnsmessage.Question, answers []netip.Addr) []byte {
	b := dnsmessage.NewBuilder(make([]byte, 0, 512), h)
	b.EnableCompression()
	_ = b.StartQuestions()
	for _, q := range qs {
		_ = b.Question(q)
	}
	_ = b.StartAnswers()
	for _, a := range answers {
		rh := dnsmessage.ResourceHeader{Name: qs[0].Name, Class: dnsmessage.ClassINET, TTL: 5}
		if a.Is4() {
			_ = b.AResource(rh, dnsmessage.AResource{A: a.As4()})
		} else {
			_ = b.AAAAResource(rh, dnsmessage.AAAAResource{AAAA: a.As16()})
		}
	}
	msg, err := b.Finish()
	if err != nil {
		return nil
	}
	return msg
}

// Serve answers queries on pc (UDP) and l (TCP) until ctx ends.
func (h DNSHandler) Serve(ctx context.Context, pc net.PacketConn, l net.Listener) {
	go func() {
		<-ctx.Done()
		pc.Close()
		l.Close()
	}()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go h.serveTCP(ctx, c)
		}
	}()
	buf := make([]byte, maxDNSMessage)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		resp := h.Answer(lctx, buf[:n])
		cancel()
		if resp != nil {
			_, _ = pc.WriteTo(resp, from)
		}
	}
}

func (h DNSHandler) serveTCP(ctx context.Context, c net.Conn) {
	defer c.Close()
	for range 100 {
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		var size [2]byte
		if _, err := io.ReadFull(c, size[:]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint16(size[:]))
		if n > maxDNSMessage {
			return
		}
		msg := make([]byte, n)
		if _, err := io.ReadFull(c, msg); err != nil {
			return
		}
		lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		resp := h.Answer(lctx, msg)
		cancel()
		if resp == nil {
			return
		}
		out := binary.BigEndian.AppendUint16(nil, uint16(len(resp)))
		if _, err := c.Write(append(out, resp...)); err != nil {
			return
		}
	}
}

// APIServices looks Services up through the API server of kubeconfig,
// listing them (and headless ones' EndpointSlices) at most once a second.
func APIServices(kubeconfig string) (ServiceAddrs, error) {
	rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	var (
		mu      sync.Mutex
		fetched time.Time
		table   map[string][]netip.Addr
	)
	refresh := func(ctx context.Context) error {
		svcs, err := cs.CoreV1().Services("").List(ctx, metav1.ListOptions{})
		if err != nil {
			return fmt.Errorf("list services: %w", err)
		}
		next := map[string][]netip.Addr{}
		headless := false
		for _, s := range svcs.Items {
			key := s.Namespace + "/" + s.Name
			next[key] = nil
			if s.Spec.ClusterIP == corev1.ClusterIPNone {
				headless = true
				continue
			}
			for _, ip := range s.Spec.ClusterIPs {
				if a, err := netip.ParseAddr(ip); err == nil {
					next[key] = append(next[key], a)
				}
			}
		}
		if headless {
			slices, err := cs.DiscoveryV1().EndpointSlices("").List(ctx, metav1.ListOptions{})
			if err != nil {
				return fmt.Errorf("list endpointslices: %w", err)
			}
			for _, es := range slices.Items {
				key := es.Namespace + "/" + es.Labels[discoveryv1.LabelServiceName]
				if _, ok := next[key]; !ok {
					continue
				}
				for _, ep := range es.Endpoints {
					if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
						continue
					}
					for _, ip := range ep.Addresses {
						if a, err := netip.ParseAddr(ip); err == nil {
							next[key] = append(next[key], a)
						}
					}
				}
			}
		}
		table, fetched = next, time.Now()
		return nil
	}
	return func(ctx context.Context, namespace, name string) ([]netip.Addr, bool, error) {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(fetched) > time.Second {
			if err := refresh(ctx); err != nil {
				return nil, false, err
			}
		}
		addrs, ok := table[namespace+"/"+name]
		return addrs, ok, nil
	}, nil
}

// ServeClusterDNS answers the cluster's Service names on port 53 of the
// node's address (UDP and TCP, sockets made inside its network
// namespace) until ctx ends; pods get that address as their nameserver.
func (n *Node) ServeClusterDNS(ctx context.Context) error {
	lookup, err := APIServices(n.Kubeconfig)
	if err != nil {
		return err
	}
	addr := net.JoinHostPort(n.NodeIP, "53")
	var pc net.PacketConn
	var l net.Listener
	err = n.inNetNS(func() error {
		var err error
		if pc, err = net.ListenPacket("udp", addr); err != nil {
			return err
		}
		if l, err = net.Listen("tcp", addr); err != nil {
			pc.Close()
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cluster DNS on %s: %w", addr, err)
	}
	go DNSHandler{Domain: ClusterDomain, Lookup: lookup}.Serve(ctx, pc, l)
	return nil
}

// inNetNS runs f on a thread switched into the node's network namespace;
// the thread is discarded afterwards (its goroutine ends locked).
func (n *Node) inNetNS(f func() error) error {
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		ns, err := os.Open(n.NetNS)
		if err != nil {
			ch <- err
			return
		}
		defer ns.Close()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- fmt.Errorf("setns %s: %w", n.NetNS, err)
			return
		}
		ch <- f()
	}()
	return <-ch
}
