package cluster

import (
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func deployment(ns, name string, labels map[string]string, image string) *appsv1.Deployment {
	one := int32(1)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: appsv1.DeploymentSpec{Replicas: &one, Template: corev1.PodTemplateSpec{
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: image}}}}},
		Status: appsv1.DeploymentStatus{ReadyReplicas: 1},
	}
}

func daemonSet(ns, name string, labels map[string]string, image string) *appsv1.DaemonSet {
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: image}}}}},
		Status: appsv1.DaemonSetStatus{DesiredNumberScheduled: 3, NumberReady: 3},
	}
}

func statefulSet(ns, name string, labels map[string]string, image string) *appsv1.StatefulSet {
	three := int32(3)
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: appsv1.StatefulSetSpec{Replicas: &three, Template: corev1.PodTemplateSpec{
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: image}}}}},
		Status: appsv1.StatefulSetStatus{ReadyReplicas: 3},
	}
}

func sidecarPod(ns, name, proxy, image string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: "app", Image: "docker.io/library/nginx:1.27"}, {Name: proxy, Image: image}}},
	}
}

// Each row of the table detects its mesh, version and proxies from the
// workloads its installer creates (images and labels as the installers
// write them), ready.
func TestBuildDetectsEachMesh(t *testing.T) {
	tests := []struct {
		mesh, version string
		objects       objects
		proxies       int
	}{
		{"consul", "1.19.2", objects{
			statefulSets: []*appsv1.StatefulSet{statefulSet("consul", "consul-server", map[string]string{"app": "consul", "component": "server"}, "hashicorp/consul:1.19.2")},
			deployments:  []*appsv1.Deployment{deployment("consul", "consul-connect-injector", map[string]string{"app": "consul", "component": "connect-injector"}, "hashicorp/consul-k8s-control-plane:1.5.3")},
			pods:         []*corev1.Pod{sidecarPod("web", "web-0", "consul-dataplane", "hashicorp/consul-dataplane:1.5.3")},
		}, 1},
		{"cilium", "v1.16.3", objects{
			daemonSets: []*appsv1.DaemonSet{daemonSet("kube-system", "cilium", map[string]string{"k8s-app": "cilium"}, "quay.io/cilium/cilium:v1.16.3@sha256:62d2a09bbef840a46099ac4c69421c90f84f28d018d479749049011329aa7f28"),
				daemonSet("kube-system", "cilium-envoy", map[string]string{"k8s-app": "cilium-envoy"}, "quay.io/cilium/cilium-envoy:v1.29.9")},
		}, 0},
		{"osm", "v1.2.4", objects{
			deployments: []*appsv1.Deployment{deployment("osm-system", "osm-controller", map[string]string{"app": "osm-controller"}, "openservicemesh/osm-controller:v1.2.4"),
				deployment("osm-system", "osm-injector", map[string]string{"app": "osm-injector"}, "openservicemesh/osm-injector:v1.2.4")},
			pods: []*corev1.Pod{sidecarPod("bookstore", "bookstore-0", "envoy", "envoyproxy/envoy:v1.22.2")},
		}, 1},
		{"traefik-mesh", "v1.4.8", objects{
			deployments: []*appsv1.Deployment{deployment("traefik-mesh", "traefik-mesh-controller", map[string]string{"app": "maesh", "component": "controller"}, "traefik/mesh:v1.4.8")},
			daemonSets:  []*appsv1.DaemonSet{daemonSet("traefik-mesh", "traefik-mesh-proxy", map[string]string{"app": "maesh", "component": "maesh-mesh"}, "traefik:v2.10")},
		}, 0},
		{"nginx-service-mesh", "2.0.0", objects{
			deployments: []*appsv1.Deployment{deployment("nginx-mesh", "nginx-mesh-controller", map[string]string{"app.kubernetes.io/name": "nginx-mesh-controller"}, "docker-registry.nginx.com/nsm/nginx-mesh-controller:2.0.0")},
			pods:        []*corev1.Pod{sidecarPod("app", "app-0", "nginx-mesh-sidecar", "docker-registry.nginx.com/nsm/nginx-mesh-sidecar:2.0.0")},
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.mesh, func(t *testing.T) {
			s := build(tt.objects, Rules)
			if len(s.Meshes) != 1 {
				t.Fatalf("meshes %+v, want %s alone", s.Meshes, tt.mesh)
			}
			m := s.Meshes[0]
			if m.Mesh != tt.mesh || m.Version != tt.version || !m.Healthy || m.PodsWithProxy != tt.proxies {
				t.Errorf("got %s %s healthy=%v proxies=%d, want %s %s healthy with %d", m.Mesh, m.Version, m.Healthy, m.PodsWithProxy, tt.mesh, tt.version, tt.proxies)
			}
			if len(m.Modes) != 1 {
				t.Errorf("modes %v", m.Modes)
			}
		})
	}
}

// An Istio revision (istiod-1-24 from a mirror) is found by its labels,
// and a workload that merely runs Envoy is no mesh.
func TestBuildLabelsAndLookalikes(t *testing.T) {
	s := build(objects{deployments: []*appsv1.Deployment{
		deployment("istio-system", "istiod-1-24", map[string]string{"app": "istiod", "istio": "pilot", "istio.io/rev": "1-24"}, "mirror.corp.example/istio-pilot:1.24.1"),
		deployment("edge", "envoy", map[string]string{"app": "envoy"}, "envoyproxy/envoy:v1.31.0"),
	}}, Rules)
	var got []string
	for _, m := range s.Meshes {
		got = append(got, m.Mesh+" "+m.Version)
	}
	if !slices.Equal(got, []string{"istio 1.24.1"}) {
		t.Errorf("meshes %v, want istio 1.24.1 alone", got)
	}
}
