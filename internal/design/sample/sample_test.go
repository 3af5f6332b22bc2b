package sample

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/meshperf/meshperf/internal/design"
	"github.com/meshperf/meshperf/internal/experiment"
)

func TestDesign(t *testing.T) {
	d, err := Design(Options{Name: "sample-app", Namespace: "bench", Delay: "1ms", Size: 512, Image: "img:1"})
	if err != nil {
		t.Fatal(err)
	}
	args := map[string]string{}
	for _, r := range d.Resources {
		if r.Kind() == "Deployment" {
			c := design.Get(r.Object, "spec", "template", "spec", "containers").([]any)[0].(map[string]any)
			var s []string
			for _, a := range c["args"].([]any) {
				s = append(s, a.(string))
			}
			args[r.Name()] = strings.Join(s, " ")
			if c["image"] != "img:1" {
				t.Errorf("%s image %v", r.Name(), c["image"])
			}
		}
	}
	want := map[string]string{
		"front":     "echo --addr :8080 --delay 1ms --size 512 --upstream http://backend-1/ --upstream http://backend-2/",
		"backend-1": "echo --addr :8080 --delay 1ms --size 512 --upstream http://leaf/",
		"backend-2": "echo --addr :8080 --delay 1ms --size 512",
		"leaf":      "echo --addr :8080 --delay 1ms --size 512",
	}
	for k, v := range want {
		if args[k] != v {
			t.Errorf("%s args %q, want %q", k, args[k], v)
		}
	}
	if len(args) != 4 {
		t.Errorf("deployments %v, want 4", args)
	}
	g := design.BuildGraph(d.Resources, d.Namespace)
	var edges []string
	for _, e := range g.Edges {
		edges = append(edges, e.From+">"+e.To)
	}
	for _, s := range []string{"front", "leaf", "backend-1", "backend-2"} {
		if !slices.Contains(edges, "service/"+s+">deployment.apps/"+s) {
			t.Errorf("no edge from service %s to its deployment: %v", s, edges)
		}
	}
	d3, err := Design(Options{Name: "wide", FanOut: 3})
	if err != nil || len(d3.Resources) != 10 {
		t.Errorf("fan-out 3: %v, %d resources, want 10", err, len(d3.Resources))
	}
	if _, err := Design(Options{Name: "x", FanOut: 99}); err == nil || !strings.Contains(err.Error(), "fan-out 99") {
		t.Errorf("fan-out 99: %v", err)
	}
}

// TestExperimentFile: the experiment shipped with the sample application
// is a valid experiment whose variants are the sample's front in the two
// namespaces its comments apply it to.
func TestExperimentFile(t *testing.T) {
	def, err := experiment.Load(filepath.Join("..", "..", "..", "examples", "experiment-sample-app.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var targets []string
	for _, v := range def.File.Variants {
		targets = append(targets, v.Name+"="+strings.Join(v.Targets, ","))
	}
	want := []string{"plain=http://front.sample-plain.svc.cluster.local/", "mesh=http://front.sample-mesh.svc.cluster.local/"}
	if !slices.Equal(targets, want) {
		t.Errorf("variants %q, want %q", targets, want)
	}
}

// TestDesignServiceEnv: without cluster DNS, the upstreams are the
// service environment variables Kubernetes expands in args, and every
// Service comes before the Deployments in apply order (pods get only the
// variables of Services that exist when they start).
func TestDesignServiceEnv(t *testing.T) {
	d, err := Design(Options{Name: "s", FanOut: 1, ServiceEnv: true})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, r := range design.ApplyOrder(d.Resources) {
		order = append(order, r.Kind())
		if r.Kind() == "Deployment" && r.Name() == "backend-1" {
			args := design.Get(r.Object, "spec", "template", "spec", "containers").([]any)[0].(map[string]any)["args"].([]any)
			if got := args[len(args)-1]; got != "http://$(LEAF_SERVICE_HOST):$(LEAF_SERVICE_PORT)/" {
				t.Errorf("backend-1's upstream %v", got)
			}
		}
		if r.Kind() == "Deployment" && r.Name() == "front" {
			args := design.Get(r.Object, "spec", "template", "spec", "containers").([]any)[0].(map[string]any)["args"].([]any)
			if got := args[len(args)-1]; got != "http://$(BACKEND_1_SERVICE_HOST):$(BACKEND_1_SERVICE_PORT)/" {
				t.Errorf("front's upstream %v", got)
			}
		}
	}
	if i := slices.Index(order, "Deployment"); i < 0 || slices.Contains(order[i:], "Service") {
		t.Errorf("apply order %v: every Service before the Deployments", order)
	}
}
