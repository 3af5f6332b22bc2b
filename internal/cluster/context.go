package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/meshperf/meshperf/kube"
	"github.com/meshperf/meshperf/spec"
)

// DefaultContextTimeout bounds ContextFor: reading the cluster must not hold
// a run up for long.
const DefaultContextTimeout = 5 * time.Second

// maxContextTargets bounds the targets a context describes.
const maxContextTargets = 64

// ReadOnce reads the cluster cfg names once: reachability first (so an
// unreachable server or bad credentials say so at once), then every
// resource through an inventory's informers, for at most wait. The
// snapshot is returned with an error naming what could not be read.
func ReadOnce(ctx context.Context, cfg kube.Config, wait time.Duration) (Snapshot, error) {
	client, err := kube.Connect(cfg)
	if err != nil {
		return Snapshot{}, err
	}
	if _, err := client.Ping(ctx); err != nil {
		return Snapshot{}, err
	}
	rc, _, err := kube.RESTConfig(cfg)
	if err != nil {
		return Snapshot{}, err
	}
	inv, err := New(rc, Options{})
	if err != nil {
		return Snapshot{}, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- inv.Run(ctx) }()
	wctx, wcancel := context.WithTimeout(ctx, wait)
	defer wcancel()
	err = inv.WaitSynced(wctx)
	snap := inv.Snapshot()
	cancel()
	<-done
	return snap, err
}

// ContextFor reads the cluster cfg names (within DefaultContextTimeout
// unless ctx ends first) and returns the mesh context of targets, to be
// recorded in a result at its start. The error is kube.ErrNoKubeconfig when
// no cluster is configured (record nothing then); any other error is also
// in the context's Error, with what could be read.
func ContextFor(ctx context.Context, cfg kube.Config, targets []string) (spec.MeshContext, error) {
	ctx, cancel := context.WithTimeout(ctx, DefaultContextTimeout)
	defer cancel()
	if cfg.Timeout == 0 || cfg.Timeout > DefaultContextTimeout {
		cfg.Timeout = DefaultContextTimeout
	}
	snap, err := ReadOnce(ctx, cfg, DefaultContextTimeout)
	if errors.Is(err, kube.ErrNoKubeconfig) {
		return spec.MeshContext{}, err
	}
	mc := snap.MeshContext(targets)
	if mc.Time.IsZero() {
		mc.Time = time.Now().UTC()
	}
	if err == nil && len(snap.Unreadable) > 0 {
		var parts []string
		for _, d := range snap.Unreadable {
			parts = append(parts, d.Resource)
		}
		err = fmt.Errorf("%w: may not list %s", kube.ErrForbidden, strings.Join(parts, ", "))
	}
	if err != nil {
		mc.Error = err.Error()
	}
	return mc, err
}

// MeshContext is the mesh context of targets in s: the meshes installed,
// and for each target URL whose host names a Service (svc.ns,
// svc.ns.svc[.domain], or its ClusterIP) that Service's mesh, version,
// mode, injection and proxy.
func (s Snapshot) MeshContext(targets []string) spec.MeshContext {
	mc := spec.MeshContext{Cluster: s.Server, Time: s.Time}
	for _, m := range s.Meshes {
		mc.Meshes = append(mc.Meshes, spec.MeshInstall{Mesh: m.Mesh, Name: m.Name, Version: m.Version,
			Modes: m.Modes, MTLS: m.MTLS, Healthy: m.Healthy, SMPType: spec.MeshTypeOf(m.Name)})
	}
	seen := map[string]bool{}
	for _, raw := range targets {
		if seen[raw] {
			continue
		}
		seen[raw] = true
		if len(mc.Targets) == maxContextTargets {
			break
		}
		mc.Targets = append(mc.Targets, s.meshTarget(raw))
	}
	return mc
}

func (s Snapshot) meshTarget(raw string) spec.MeshTarget {
	mt := spec.MeshTarget{URL: raw}
	if len(raw) > 2048 {
		mt.URL = raw[:2048]
		mt.Note = "URL too long to match"
		return mt
	}
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		mt.Note = "no host in the URL"
		return mt
	}
	ns, svc, via, ok := s.serviceFor(u.Hostname())
	if !ok {
		if p, ok := s.podByIP(u.Hostname()); ok {
			return s.podTarget(mt, p)
		}
		mt.Note = fmt.Sprintf("host %s is no Service of the cluster (by name svc.ns[.svc...] or ClusterIP) and no pod's address", u.Hostname())
		return mt
	}
	t, _ := s.TargetOf(ns, svc)
	mt.Namespace, mt.Service, mt.Via = t.Namespace, t.Service, via
	mt.Mesh, mt.MeshVersion, mt.Mode = t.Mesh, t.MeshVersion, t.Mode
	mt.Injection = t.Injection
	mt.Pods, mt.Meshed, mt.MTLS = t.Pods, t.Meshed, t.MTLS
	mt.Workloads = s.serviceWorkloads(ns, svc)
	if p := t.Proxy; p != nil {
		mt.Proxy = &spec.MeshProxy{Container: p.Container, Image: p.Image, Version: p.Version, Native: p.Native,
			Requests: p.Requests, Limits: p.Limits}
	}
	return mt
}

// How a target's host reached what it names (spec.MeshTarget.Via).
const (
	ViaServiceName = "service-name"
	ViaClusterIP   = "cluster-ip"
	ViaPodIP       = "pod-ip"
)

// serviceFor finds the Service host names: a ClusterIP, or an in-cluster
// DNS name with its namespace (a bare name is ambiguous and not matched),
// and says which it was.
func (s Snapshot) serviceFor(host string) (ns, svc, via string, ok bool) {
	if ip := net.ParseIP(host); ip != nil {
		for _, v := range s.Services {
			if slices.ContainsFunc(v.ClusterIPs, func(c string) bool { return sameIP(c, ip) }) {
				return v.Namespace, v.Name, ViaClusterIP, true
			}
		}
		return "", "", "", false
	}
	host = strings.ToLower(host)
	if !strings.Contains(strings.TrimSuffix(host, "."), ".") {
		return "", "", "", false
	}
	ns, svc, err := ParseServiceHost(host, "")
	if err != nil {
		return "", "", "", false
	}
	for _, v := range s.Services {
		if v.Namespace == ns && v.Name == svc {
			return ns, svc, ViaServiceName, true
		}
	}
	return "", "", "", false
}

func sameIP(s string, ip net.IP) bool {
	other := net.ParseIP(s)
	return other != nil && other.Equal(ip)
}

// podByIP finds the pod whose own address host is.
func (s Snapshot) podByIP(host string) (Pod, bool) {
	ip := net.ParseIP(host)
	if ip == nil {
		return Pod{}, false
	}
	for _, p := range s.Pods {
		if slices.ContainsFunc(p.IPs, func(c string) bool { return sameIP(c, ip) }) {
			return p, true
		}
	}
	return Pod{}, false
}

// podTarget fills mt with pod p's mesh context: a target reached by a
// pod's own address goes through that pod's proxy alone.
func (s Snapshot) podTarget(mt spec.MeshTarget, p Pod) spec.MeshTarget {
	mt.Namespace, mt.Pod, mt.Via = p.Namespace, p.Name, ViaPodIP
	mt.Mesh, mt.Mode, mt.Pods, mt.MTLS = p.Mesh, "none", 1, p.MTLS
	for _, m := range s.Meshes {
		if p.Mesh != "" && m.Mesh == p.Mesh {
			mt.MeshVersion = m.Version
		}
	}
	for _, n := range s.Namespaces {
		if n.Name == p.Namespace {
			mt.Injection = n.Injection
		}
	}
	switch {
	case p.Proxy != nil:
		mt.Mode, mt.Meshed = "sidecar", 1
		mt.Proxy = &spec.MeshProxy{Container: p.Proxy.Container, Image: p.Proxy.Image, Version: p.Proxy.Version,
			Native: p.Proxy.Native, Requests: p.Proxy.Requests, Limits: p.Proxy.Limits}
	case p.Ambient:
		mt.Mode, mt.Meshed = "ambient", 1
	}
	if p.Owner != "" {
		mt.Workloads = []string{p.Owner}
	}
	return mt
}

// serviceWorkloads are the owners (Kind/name) of the pods Service ns/svc
// selects, sorted.
func (s Snapshot) serviceWorkloads(ns, svc string) []string {
	var sel map[string]string
	for _, v := range s.Services {
		if v.Namespace == ns && v.Name == svc {
			sel = v.Selector
		}
	}
	if len(sel) == 0 {
		return nil
	}
	var out []string
	for _, p := range s.Pods {
		if p.Namespace == ns && p.Owner != "" && hasLabels(p.Labels, sel) && !slices.Contains(out, p.Owner) {
			out = append(out, p.Owner)
		}
	}
	slices.Sort(out)
	return out
}
