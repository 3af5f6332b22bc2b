// Package sample builds the sample application for mesh benchmarks as a
// design: meshperf echo servers calling each other (echo --upstream), a
// front calling FanOut backends, the first of which calls a leaf. Every
// hop crosses the mesh when it is injected, so the experiment in
// examples/experiment-sample-app.yaml measures what the mesh adds to a
// request that is four services deep.
package sample

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/meshperf/meshperf/internal/design"
	"github.com/meshperf/meshperf/kube"
)

// Options shape the application.
type Options struct {
	Name      string
	Namespace string
	// Image is the meshperf image (default ghcr.io/meshperf/meshperf:latest).
	Image string
	// FanOut is how many backends the front calls for each request
	// (default 2); backend-1 calls the leaf.
	FanOut int
	// Delay is each service's own delay (an echo --delay; default 0).
	Delay string
	// Size is each service's response size in bytes (default 1024).
	Size int
	// Replicas of each service (default 1).
	Replicas int
	// ServiceEnv has each service call the next by the address Kubernetes
	// gives pods in environment variables (BACKEND_1_SERVICE_HOST and
	// _PORT) rather than by name: for clusters without DNS. The Services
	// are applied before the Deployments, so the pods get them.
	ServiceEnv bool
}

// Port is where every service of the application listens, in the pod;
// its Service answers on port 80.
const Port = 8080

// MaxFanOut bounds the front's backends.
const MaxFanOut = 16

// Design returns the application as a design.
func Design(o Options) (*design.Design, error) {
	if o.Image == "" {
		o.Image = kube.ImageRepository + ":latest"
	}
	if o.FanOut == 0 {
		o.FanOut = 2
	}
	if o.Size == 0 {
		o.Size = 1024
	}
	if o.Replicas == 0 {
		o.Replicas = 1
	}
	if o.Delay == "" {
		o.Delay = "0"
	}
	var errs []error
	if o.FanOut < 1 || o.FanOut > MaxFanOut {
		errs = append(errs, fmt.Errorf("sample fan-out %d: want 1 to %d", o.FanOut, MaxFanOut))
	}
	if o.Size < 0 || o.Size > 1<<20 {
		errs = append(errs, fmt.Errorf("sample size %d: want 0 to 1 MiB", o.Size))
	}
	if o.Replicas < 1 || o.Replicas > 100 {
		errs = append(errs, fmt.Errorf("sample replicas %d: want 1 to 100", o.Replicas))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	d := design.New(o.Name, o.Namespace)
	url := func(svc string) string {
		if o.ServiceEnv {
			v := strings.ToUpper(strings.ReplaceAll(svc, "-", "_"))
			return "http://$(" + v + "_SERVICE_HOST):$(" + v + "_SERVICE_PORT)/"
		}
		return "http://" + svc + "/"
	}
	var backends []string
	for i := 1; i <= o.FanOut; i++ {
		backends = append(backends, "backend-"+strconv.Itoa(i))
	}
	services := []struct {
		name      string
		upstreams []string
	}{{"front", nil}, {"leaf", nil}}
	for _, b := range backends {
		services[0].upstreams = append(services[0].upstreams, url(b))
	}
	for i, b := range backends {
		var up []string
		if i == 0 {
			up = []string{url("leaf")}
		}
		services = append(services, struct {
			name      string
			upstreams []string
		}{b, up})
	}
	for _, s := range services {
		args := []any{"echo", "--addr", ":" + strconv.Itoa(Port), "--delay", o.Delay, "--size", strconv.Itoa(o.Size)}
		for _, u := range s.upstreams {
			args = append(args, "--upstream", u)
		}
		if err := d.Add(deployment(o, s.name, args), service(o, s.name)); err != nil {
			return nil, err
		}
	}
	return d, d.Validate()
}

func labels(o Options, name string) map[string]any {
	return map[string]any{"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": o.Name}
}

func deployment(o Options, name string, args []any) design.Resource {
	return design.Resource{Source: "sample " + name, Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": name, "labels": labels(o, name)},
		"spec": map[string]any{
			"replicas": int64(o.Replicas),
			"selector": map[string]any{"matchLabels": labels(o, name)},
			"template": map[string]any{
				"metadata": map[string]any{"labels": labels(o, name)},
				"spec": map[string]any{
					"automountServiceAccountToken": false,
					"securityContext": map[string]any{
						"runAsNonRoot": true, "runAsUser": int64(65532), "runAsGroup": int64(65532),
						"seccompProfile": map[string]any{"type": "RuntimeDefault"},
					},
					"containers": []any{map[string]any{
						"name": "echo", "image": o.Image, "args": args,
						"ports": []any{map[string]any{"name": "http", "containerPort": int64(Port)}},
						"readinessProbe": map[string]any{
							"httpGet":       map[string]any{"path": "/healthz", "port": "http"},
							"periodSeconds": int64(2),
						},
						"resources": map[string]any{
							"requests": map[string]any{"cpu": "50m", "memory": "32Mi"},
							"limits":   map[string]any{"memory": "128Mi"},
						},
						"securityContext": map[string]any{
							"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
							"capabilities": map[string]any{"drop": []any{"ALL"}},
						},
					}},
				},
			},
		},
	}}
}

func service(o Options, name string) design.Resource {
	return design.Resource{Source: "sample " + name, Object: map[string]any{
		"apiVersion": "v1", "kind": "Service",
		"metadata": map[string]any{"name": name, "labels": labels(o, name)},
		"spec": map[string]any{
			"selector": labels(o, name),
			"ports": []any{map[string]any{"name": "http", "port": int64(80), "targetPort": "http",
				"appProtocol": "http"}},
		},
	}}
}
