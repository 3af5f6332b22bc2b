package cluster

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/meshperf/meshperf/internal/cluster/kubetest"
	"github.com/meshperf/meshperf/kube"
)

// Scale of BenchmarkInventoryScale: the 5,000 pods and 2,000
// Services, in 20 namespaces half of them injected, half the pods with an
// Istio sidecar.
const (
	scaleNamespaces = 20
	scaleServices   = 2000
	scalePods       = 5000
)

// BenchmarkInventoryScale fills the API server with scalePods pods and
// scaleServices Services (once; they stay for later runs), then measures
// the time to the first complete snapshot, the heap the inventory holds,
// and the time from a pod's change to the snapshot showing it.
//
//	MESHPERF_KUBE_TEST=1 go test -run '^$' -bench InventoryScale -benchtime 1x ./internal/cluster/
func BenchmarkInventoryScale(b *testing.B) {
	kc := kubetest.Kubeconfig(b)
	rc, _, err := kubeRESTConfig(kc)
	if err != nil {
		b.Fatal(err)
	}
	fc := rest.CopyConfig(rc)
	fc.QPS, fc.Burst = 1000, 1000 // the filler only
	dc, err := dynamic.NewForConfig(fc)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	start := time.Now()
	if err := fill(ctx, dc); err != nil {
		b.Fatal(err)
	}
	b.Logf("filled in %s", time.Since(start).Round(time.Second))
	b.ResetTimer()
	for range b.N {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		inv, err := New(rc, Options{})
		if err != nil {
			b.Fatal(err)
		}
		ictx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- inv.Run(ictx) }()
		t0 := time.Now()
		wctx, wcancel := context.WithTimeout(ictx, 2*time.Minute)
		if err := inv.WaitSynced(wctx); err != nil {
			b.Fatal(err)
		}
		wcancel()
		first := time.Since(t0)
		s := inv.Snapshot()
		if s.Coverage.Pods < scalePods || len(s.Services) < scaleServices {
			b.Fatalf("snapshot has %d pods and %d services", s.Coverage.Pods, len(s.Services))
		}
		runtime.GC()
		runtime.ReadMemStats(&after)

		// The cost of a change: one pod relabelled, until a snapshot shows it.
		pods := dc.Resource(gvrPods).Namespace("scale-0")
		events, unsubscribe := inv.Subscribe(10_000)
		t1 := time.Now()
		label := fmt.Sprint(t1.UnixNano())
		patch := fmt.Appendf(nil, `{"metadata":{"labels":{"rev":"%s"}}}`, label)
		if _, err := pods.Patch(ctx, "pod-0", "application/merge-patch+json", patch, metav1.PatchOptions{}); err != nil {
			b.Fatal(err)
		}
		patched := time.Since(t1)
		for e := range events {
			if e.Type == "updated" && e.Namespace == "scale-0" && e.Name == "pod-0" {
				break
			}
		}
		seen := time.Since(t1)
		unsubscribe()
		for {
			p := findPod(inv.Snapshot(), "scale-0", "pod-0")
			if p != nil && p.Labels["rev"] == label {
				break
			}
			if time.Since(t1) > time.Minute {
				b.Fatal("change not seen within a minute")
			}
			time.Sleep(5 * time.Millisecond)
		}
		change := time.Since(t1)
		t2 := time.Now()
		inv.refresh(ictx)
		rebuild := time.Since(t2)
		cancel()
		<-done
		b.ReportMetric(first.Seconds(), "s/first-snapshot")
		b.ReportMetric(float64(after.HeapInuse-min(before.HeapInuse, after.HeapInuse))/(1<<20), "MB-heap")
		b.ReportMetric(change.Seconds()*1000, "ms/change")
		b.ReportMetric(rebuild.Seconds()*1000, "ms/rebuild")
		b.ReportMetric(patched.Seconds()*1000, "ms/patch")
		b.ReportMetric(seen.Seconds()*1000, "ms/event")
	}
}

// fill creates the namespaces, Services and pods that are missing.
func fill(ctx context.Context, dc dynamic.Interface) error {
	for i := range scaleNamespaces {
		labels := map[string]any{}
		if i%2 == 0 {
			labels["istio-injection"] = "enabled"
		}
		ns := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace",
			"metadata": map[string]any{"name": fmt.Sprintf("scale-%d", i), "labels": labels}}}
		if err := create(ctx, dc.Resource(gvrNamespaces), ns); err != nil {
			return err
		}
		sa := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ServiceAccount",
			"metadata": map[string]any{"name": "default"}}}
		if err := create(ctx, dc.Resource(gvrServiceAccounts).Namespace(fmt.Sprintf("scale-%d", i)), sa); err != nil {
			return err
		}
	}
	jobs := make(chan func() error)
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job := range jobs {
				if err := job(); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
	for i := range scaleServices {
		ns := fmt.Sprintf("scale-%d", i%scaleNamespaces)
		svc := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Service",
			"metadata": map[string]any{"name": fmt.Sprintf("svc-%d", i)},
			"spec": map[string]any{"selector": map[string]any{"app": fmt.Sprintf("app-%d", i)},
				"ports": []any{map[string]any{"port": int64(8080)}}}}}
		jobs <- func() error { return create(ctx, dc.Resource(gvrServices).Namespace(ns), svc) }
	}
	for i := range scalePods {
		ns := fmt.Sprintf("scale-%d", i%scaleNamespaces)
		containers := []any{map[string]any{"name": "app", "image": "docker.io/library/nginx:1.27"}}
		if i%2 == 0 {
			containers = append(containers, map[string]any{"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.23.2",
				"resources": map[string]any{"requests": map[string]any{"cpu": "100m", "memory": "128Mi"}}})
		}
		pod := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Pod",
			"metadata": map[string]any{"name": fmt.Sprintf("pod-%d", i/scaleNamespaces),
				"labels": map[string]any{"app": fmt.Sprintf("app-%d", i%scaleServices)}},
			"spec": map[string]any{"containers": containers}}}
		jobs <- func() error { return create(ctx, dc.Resource(gvrPods).Namespace(ns), pod) }
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

var gvrServiceAccounts = gvrNamespaces.GroupVersion().WithResource("serviceaccounts")

func create(ctx context.Context, ri dynamic.ResourceInterface, u *unstructured.Unstructured) error {
	_, err := ri.Create(ctx, u, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

func kubeRESTConfig(kc string) (*rest.Config, string, error) {
	return kube.RESTConfig(kube.Config{Kubeconfig: kc})
}
