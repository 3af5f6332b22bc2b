package kubenode_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/internal/design"
	"github.com/meshperf/meshperf/internal/design/compose"
	"github.com/meshperf/meshperf/internal/design/lifecycle"
	"github.com/meshperf/meshperf/internal/kubenode"
	"github.com/meshperf/meshperf/kube"
)

// TestNodeComposeDesign is issue 20 on a node where pods run: a Compose
// file of three services converted, applied and ready (pods Running, the
// Services' endpoints ready), measured through its front's Service, diffed
// with no changes; an image changed, diffed and applied as a rollout that
// becomes ready again; deleted and gone.
func TestNodeComposeDesign(t *testing.T) {
	n := kubenode.Get(t)
	ctx := t.Context()
	const ns = "design-node"
	n.Kubectl(t, "", "create", "namespace", ns)
	t.Cleanup(func() { n.Kubectl(t, "", "delete", "namespace", ns, "--wait=false") })
	// A second name for the same image, for the rollout.
	v2 := n.Image + "-v2"
	if out, err := exec.Command("ctr", "--address", n.ContainerdSock, "-n", "k8s.io", "images", "tag", "--force", n.Image, v2).CombinedOutput(); err != nil {
		t.Fatalf("ctr images tag: %v\n%s", err, out)
	}
	file := `services:
  front:
    image: ` + n.Image + `
    pull_policy: never
    command: [echo, --addr, ":8080", --upstream, "http://api:9090/"]
    ports: ["80:8080"]
  api:
    image: ` + n.Image + `
    pull_policy: never
    command: [echo, --addr, ":9090", --delay, 1ms]
    expose: ["9090"]
  worker:
    image: ` + n.Image + `
    pull_policy: never
    command: [echo, --addr, ":7070"]
    expose: ["7070"]
`
	d, err := compose.ConvertBytes(ctx, filepath.Join(t.TempDir(), "compose.yaml"), []byte(file), compose.Options{Name: "node-shop", Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	c, err := lifecycle.Connect(kube.Config{Kubeconfig: n.Kubeconfig})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Apply(ctx, d, lifecycle.Options{}); err != nil {
		t.Fatal(err)
	}
	states, err := c.Wait(ctx, d, lifecycle.Options{}, 3*time.Minute)
	if err != nil {
		t.Fatalf("not ready on the node: %v (%+v)", err, states)
	}
	for _, s := range states {
		if strings.HasPrefix(s.Ref, "deployment.apps/") && s.Detail != "1 of 1 available" {
			t.Errorf("%s ready as %q, want 1 of 1 available", s.Ref, s.Detail)
		}
		if strings.HasPrefix(s.Ref, "service/") && s.Detail != "1 ready endpoints" {
			t.Errorf("%s ready as %q, want 1 ready endpoint", s.Ref, s.Detail)
		}
	}
	pods := n.WaitPods(t, ns, "app.kubernetes.io/name=front", 1, time.Minute)
	if pods[0].Restarts != 0 {
		t.Errorf("front restarted: %+v", pods[0])
	}

	// Measured through the front's Service; the front calls the api
	// through its Service by the Compose service's name, as in Compose
	// (the cluster DNS answers it).
	ip := n.Kubectl(t, "", "get", "service", "front", "-n", ns, "-o", "jsonpath={.spec.clusterIP}")
	// Ready endpoints come before kube-proxy's rules for them (and the
	// front answers 200 only when the api's Service answered it too).
	waitClusterIP(t, n, ip)
	r := runIn(t, n, "http://"+ip+"/", "--rps", "50", "-c", "2", "-d", "2s")
	if r.Achieved.Responses != 100 || r.Achieved.Errors != 0 || r.StatusCodes[200] != 100 {
		t.Errorf("through the front's Service: %d responses, %d errors (%v), want 100 answered 200", r.Achieved.Responses, r.Achieved.Errors, r.StatusCodes)
	}

	diffs, err := c.Diff(ctx, d, lifecycle.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, df := range diffs {
		if df.State != "same" {
			t.Errorf("diff after a ready apply: %s %s\n%s", df.Ref, df.State, df.Text)
		}
	}

	// The image changed: the diff shows it, the apply rolls front out.
	for _, res := range d.Resources {
		if res.Kind() == "Deployment" && res.Name() == "front" {
			design.Get(res.Object, "spec", "template", "spec", "containers").([]any)[0].(map[string]any)["image"] = v2
		}
	}
	diffs, err = c.Diff(ctx, d, lifecycle.Options{})
	if err != nil {
		t.Fatal(err)
	}
	changed := 0
	for _, df := range diffs {
		if df.State == "changed" {
			changed++
			if df.Ref != "deployment.apps/"+ns+"/front" || !strings.Contains(df.Text, "+        image: "+v2) {
				t.Errorf("diff: %s\n%s", df.Ref, df.Text)
			}
		}
	}
	if changed != 1 {
		t.Errorf("%d objects changed, want front only", changed)
	}
	changes, err := c.Apply(ctx, d, lifecycle.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range changes {
		if want := map[bool]string{true: "configured", false: "unchanged"}[ch.Ref == "deployment.apps/"+ns+"/front"]; ch.Action != want {
			t.Errorf("re-apply: %s %s, want %s", ch.Ref, ch.Action, want)
		}
	}
	if _, err := c.Wait(ctx, d, lifecycle.Options{}, 3*time.Minute); err != nil {
		t.Fatalf("the rollout did not become ready: %v", err)
	}
	if got := n.Kubectl(t, "", "get", "deployment", "front", "-n", ns, "-o", "jsonpath={.status.updatedReplicas}/{.metadata.generation}"); got != "1/2" {
		t.Errorf("front after the rollout: updated/generation %s, want 1/2", got)
	}

	if _, err := c.Delete(ctx, d, lifecycle.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitGone(context.WithoutCancel(ctx), d, lifecycle.Options{}, 2*time.Minute); err != nil {
		t.Errorf("not removed: %v", err)
	}
}
