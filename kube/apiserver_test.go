package kube

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestAPIServerDeployAgents is issue 5's acceptance test: meshperf agent
// deploy creates the agents' objects on a real API server, kubectl shows
// them with the right spec, the pods' command line (read back from the API
// server) runs real agents that register with a real meshperf server, and
// --delete removes the objects.
func TestAPIServerDeployAgents(t *testing.T) {
	kubeconfig := kubeCluster(t)
	bin := meshperfBin(t)
	const ns, token, image = "meshperf-test", "e2e-join-token-4f9c", "ghcr.io/meshperf/meshperf:e2e"
	kenv := []string{"KUBECONFIG=" + kubeconfig}
	kubectl := func(args ...string) string { return mustRun(t, kenv, "", "kubectl", args...) }

	agentAddr := freeAddr(t)
	out := mustRun(t, kenv, "", bin, "agent", "deploy", "--replicas", "3", "--namespace", ns, "--create-namespace",
		"--server", agentAddr, "--token", token, "--image", image, "--agent-labels", "suite=kube",
		"--cpu", "500m", "--memory", "128Mi")
	for _, want := range []string{"namespace/" + ns + " created", "serviceaccount/meshperf-agent created",
		"secret/meshperf-agent-token created", "deployment.apps/meshperf-agent created"} {
		if !strings.Contains(out, want) {
			t.Errorf("deploy printed %q, want a line %q", out, want)
		}
	}

	// What kubectl sees.
	var d appsv1.Deployment
	decode(t, kubectl("get", "deployment", "meshperf-agent", "-n", ns, "-o", "json"), &d)
	if *d.Spec.Replicas != 3 {
		t.Errorf("replicas %d, want 3", *d.Spec.Replicas)
	}
	c := d.Spec.Template.Spec.Containers[0]
	if c.Image != image {
		t.Errorf("image %s, want %s", c.Image, image)
	}
	wantArgs := []string{"agent", "--server", agentAddr, "--name", "$(POD_NAME)", "--labels", "node=$(NODE_NAME),suite=kube"}
	if !slices.Equal(c.Args, wantArgs) {
		t.Errorf("args %q, want %q", c.Args, wantArgs)
	}
	if got := c.Resources.Requests.Cpu().String() + "/" + c.Resources.Requests.Memory().String() + " limits " +
		c.Resources.Limits.Cpu().String() + "/" + c.Resources.Limits.Memory().String(); got != "500m/128Mi limits 500m/128Mi" {
		t.Errorf("resources %s", got)
	}
	var tokenRef *corev1.SecretKeySelector
	for _, e := range c.Env {
		if e.Name == TokenEnv && e.ValueFrom != nil {
			tokenRef = e.ValueFrom.SecretKeyRef
		}
	}
	if tokenRef == nil || tokenRef.Name != "meshperf-agent-token" || tokenRef.Key != TokenKey {
		t.Fatalf("env %s from %+v, want secret meshperf-agent-token key %s", TokenEnv, tokenRef, TokenKey)
	}
	if d.Spec.Template.Spec.ServiceAccountName != "meshperf-agent" {
		t.Errorf("service account %q", d.Spec.Template.Spec.ServiceAccountName)
	}
	var sa corev1.ServiceAccount
	decode(t, kubectl("get", "serviceaccount", "meshperf-agent", "-n", ns, "-o", "json"), &sa)
	if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		t.Errorf("service account automounts its token")
	}
	var secret corev1.Secret
	decode(t, kubectl("get", "secret", tokenRef.Name, "-n", ns, "-o", "json"), &secret)
	if got := string(secret.Data[TokenKey]); got != token {
		t.Errorf("secret holds %q, want the token", got)
	}

	// No kubelet runs the pods: run what they would run, as they would.
	srv := startServer(t, bin, agentAddr, token)
	secrets := map[string]corev1.Secret{secret.Name: secret}
	var names []string
	for i := range 3 {
		pod := fmt.Sprintf("meshperf-agent-5d8f9c-%d", i)
		names = append(names, pod)
		startPod(t, bin, c, pod, secrets)
	}
	agents := waitAgents(t, srv, names)
	for _, a := range agents {
		if a.State != "idle" || a.Labels["node"] != "localhost" || a.Labels["suite"] != "kube" {
			t.Errorf("agent %s: state %s labels %v, want idle with node=localhost suite=kube", a.Name, a.State, a.Labels)
		}
	}

	out = mustRun(t, kenv, "", bin, "agent", "deploy", "--delete", "--namespace", ns)
	for _, want := range []string{"deployment.apps/meshperf-agent deleted", "secret/meshperf-agent-token deleted",
		"serviceaccount/meshperf-agent deleted", "namespace/" + ns + " deleted"} {
		if !strings.Contains(out, want) {
			t.Errorf("deploy --delete printed %q, want a line %q", out, want)
		}
	}
	for _, obj := range []string{"deployment/meshperf-agent", "secret/meshperf-agent-token", "serviceaccount/meshperf-agent"} {
		r := run(t, kenv, "", "kubectl", "get", obj, "-n", ns)
		if r.code == 0 || !strings.Contains(r.stderr, "NotFound") {
			t.Errorf("kubectl get %s after --delete: exit %d, %s%s", obj, r.code, r.stdout, r.stderr)
		}
	}
	// Without a namespace controller the namespace stays Terminating.
	r := run(t, kenv, "", "kubectl", "get", "namespace", ns, "-o", "jsonpath={.status.phase}")
	if r.code == 0 && r.stdout != "Terminating" {
		t.Errorf("namespace %s is %q after --delete", ns, r.stdout)
	}
}

// TestAPIServerManifest sends what meshperf agent manifest prints to the
// API server: a server-side dry run (full validation, strict fields) of each
// variant, then a real kubectl apply and delete.
func TestAPIServerManifest(t *testing.T) {
	kubeconfig := kubeCluster(t)
	bin := meshperfBin(t)
	kenv := []string{"KUBECONFIG=" + kubeconfig}
	variants := []struct {
		name string
		args []string
		want []string
	}{
		{"defaults", nil, []string{"serviceaccount/meshperf-agent", "secret/meshperf-agent-token", "deployment.apps/meshperf-agent"}},
		{"existing secret", []string{"--token-secret", "shared", "--token", "", "--name", "b"}, []string{"serviceaccount/b", "deployment.apps/b"}},
		{"mutual tls", []string{"--name", "d", "--tls-secret", "agent-tls", "--mtls"}, []string{"serviceaccount/d", "secret/d-token", "deployment.apps/d"}},
		{"everything", []string{"-n", "default", "--name", "c", "--replicas", "0", "--image", "reg.local/mp:1", "--image-pull-policy", "Never",
			"--cpu", "250m", "--memory", "64Mi", "--cpu-limit", "none", "--memory-limit", "1Gi", "--agent-labels", "zone=a,rack=7"},
			[]string{"serviceaccount/c", "secret/c-token", "deployment.apps/c"}},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			args := append([]string{"agent", "manifest", "--server", "meshperf.meshperf.svc:7071", "--token", "t0k"}, v.args...)
			manifest := mustRun(t, nil, "", bin, args...)
			out := mustRun(t, kenv, manifest, "kubectl", "apply", "--dry-run=server", "--validate=strict", "-f", "-")
			for _, w := range v.want {
				if !strings.Contains(out, w+" created (server dry run)") {
					t.Errorf("kubectl printed %q, want %s created", out, w)
				}
			}
			if n := strings.Count(out, "\n"); n != len(v.want) {
				t.Errorf("kubectl applied %d objects, want %d:\n%s", n, len(v.want), out)
			}
		})
	}
	t.Run("apply and delete", func(t *testing.T) {
		manifest := mustRun(t, nil, "", bin, "agent", "manifest", "--server", "10.0.0.1:7071", "--token", "t0k",
			"-n", "manifest-test", "--create-namespace", "--replicas", "2")
		out := mustRun(t, kenv, manifest, "kubectl", "apply", "-f", "-")
		if n := strings.Count(out, " created"); n != 4 {
			t.Errorf("kubectl apply: %d created, want 4:\n%s", n, out)
		}
		got := mustRun(t, kenv, "", "kubectl", "get", "deployment", "meshperf-agent", "-n", "manifest-test", "-o", "jsonpath={.spec.replicas}")
		if got != "2" {
			t.Errorf("replicas %q, want 2", got)
		}
		// Applying the same manifest again changes nothing.
		if out := mustRun(t, kenv, manifest, "kubectl", "apply", "-f", "-"); strings.Count(out, " unchanged") != 4 {
			t.Errorf("second kubectl apply:\n%s", out)
		}
		// Without a namespace controller, the namespace would stay Terminating.
		mustRun(t, kenv, manifest, "kubectl", "delete", "--wait=false", "-f", "-")
	})
	// The pods the Deployment would make pass the "restricted" Pod Security
	// Standard: a pod of its template is admitted where it is enforced.
	t.Run("restricted pod security", func(t *testing.T) {
		const ns = "restricted-test"
		mustRun(t, kenv, "", "kubectl", "create", "namespace", ns)
		mustRun(t, kenv, "", "kubectl", "label", "namespace", ns, "pod-security.kubernetes.io/enforce=restricted")
		manifest := mustRun(t, nil, "", bin, "agent", "manifest", "--server", "10.0.0.1:7071", "--token", "t0k", "-n", ns,
			"--tls-secret", "agent-tls", "--mtls")
		mustRun(t, kenv, manifest, "kubectl", "apply", "-f", "-")
		var d appsv1.Deployment
		decode(t, mustRun(t, kenv, "", "kubectl", "get", "deployment", "meshperf-agent", "-n", ns, "-o", "json"), &d)
		pod := corev1.Pod{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
			ObjectMeta: metav1.ObjectMeta{Name: "meshperf-agent-x", Namespace: ns, Labels: d.Spec.Template.Labels},
			Spec:       d.Spec.Template.Spec,
		}
		body, err := json.Marshal(pod)
		if err != nil {
			t.Fatal(err)
		}
		r := run(t, kenv, string(body), "kubectl", "create", "--dry-run=server", "-f", "-")
		if r.code != 0 || strings.Contains(r.stderr, "Warning") {
			t.Errorf("pod of the template in a restricted namespace: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		// And the check can fail: the same pod as root is refused.
		pod.Spec.SecurityContext.RunAsUser = new(int64(0))
		body, _ = json.Marshal(pod)
		if r := run(t, kenv, string(body), "kubectl", "create", "--dry-run=server", "-f", "-"); r.code == 0 || !strings.Contains(r.stderr, "restricted") {
			t.Errorf("a root pod was admitted: exit %d %s", r.code, r.stderr)
		}
	})
}

// TestAPIServerErrors: each way deploy can fail says what to do, with the
// exit status for a mistake (2) or a failure (3).
func TestAPIServerErrors(t *testing.T) {
	kubeconfig := kubeCluster(t)
	bin := meshperfBin(t)
	kenv := []string{"KUBECONFIG=" + kubeconfig}
	deploy := []string{"agent", "deploy", "--server", "127.0.0.1:7071", "--token", "x"}
	dir := t.TempDir()
	kc, err := os.ReadFile(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	badToken := filepath.Join(dir, "bad-token")
	writeFile(t, badToken, replaceTokens(string(kc)))
	tests := []struct {
		name string
		env  []string
		args []string
		code int
		want string
	}{
		{"namespace missing", kenv, []string{"-n", "nowhere"}, 2, "nowhere does not exist on https://127.0.0.1:"},
		{"forbidden", kenv, []string{"--context", "meshperf-test-noperm"}, 3, `forbidden: apply serviceaccount default/meshperf-agent: serviceaccounts "meshperf-agent" is forbidden: User "meshperf-noperm" cannot get`},
		{"unauthorized", []string{"KUBECONFIG=" + badToken}, nil, 3, "rejected the kubeconfig's credentials"},
		{"unknown context", kenv, []string{"--context", "prod"}, 2, `context "prod" not in`},
		{"token secret missing", kenv, []string{"--token", "", "--token-secret", "absent"}, 2,
			"token secret not found: no secret absent in namespace default: pass --token to create one, or create it (kubectl create secret generic absent -n default --from-literal=token=TOKEN)"},
		{"delete forbidden", kenv, []string{"--delete", "--context", "meshperf-test-noperm"}, 3, "forbidden: list deployments in default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.env, "", bin, append(deploy, tt.args...)...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", r.code, r.stderr, tt.code, tt.want)
			}
			if n := strings.Count(strings.TrimSpace(r.stderr), "\n"); n != 0 {
				t.Errorf("error takes %d lines, want 1", n+1)
			}
		})
	}
}

// TestAPIServerApply drives the package's API: idempotent applies, updates
// in place, refusing objects meshperf did not make, deleting twice.
func TestAPIServerApply(t *testing.T) {
	kubeconfig := kubeCluster(t)
	c, err := Connect(Config{Kubeconfig: kubeconfig})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if v, err := c.Ping(ctx); err != nil || !strings.HasPrefix(v, "v1.") {
		t.Fatalf("Ping: %q %v", v, err)
	}
	o := Options{Name: "apply", Namespace: "apply-test", CreateNamespace: true, Server: "s:1", Token: "t", Replicas: 2, Version: "1"}
	actions := func(o Options) string {
		t.Helper()
		ob, err := Build(o)
		if err != nil {
			t.Fatal(err)
		}
		changes, err := c.Apply(ctx, ob)
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, ch := range changes {
			s = append(s, ch.Resource+":"+ch.Action)
		}
		return strings.Join(s, " ")
	}
	steps := []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"create", func(*Options) {}, "namespace:created serviceaccount:created secret:created deployment.apps:created"},
		{"again", func(*Options) {}, "serviceaccount:unchanged secret:unchanged deployment.apps:unchanged"},
		{"scale", func(o *Options) { o.Replicas = 7 }, "serviceaccount:unchanged secret:unchanged deployment.apps:configured"},
		{"new token", func(o *Options) { o.Token = "t2" }, "serviceaccount:unchanged secret:configured deployment.apps:unchanged"},
	}
	for _, s := range steps {
		s.edit(&o)
		if got := actions(o); got != s.want {
			t.Errorf("%s: %s, want %s", s.name, got, s.want)
		}
	}
	d, err := c.get(ctx, deployments, "apply-test", "apply")
	if err != nil || *d.(*appsv1.Deployment).Spec.Replicas != 7 {
		t.Fatalf("deployment after scaling: %v %v", d, err)
	}

	// A Deployment of the same name that meshperf did not make is left alone.
	other := o
	other.Name = "someone-else"
	ob, _ := Build(other)
	ob.Deployment.Name = "apply"
	ob.Deployment.Labels = map[string]string{"app": "theirs"}
	if _, err := c.Apply(ctx, Objects{ServiceAccount: ob.ServiceAccount, Secret: ob.Secret, Deployment: ob.Deployment}); err == nil ||
		!strings.Contains(err.Error(), "was not created by meshperf") {
		t.Errorf("applying over another's deployment: %v", err)
	}

	// An existing token Secret: refused until it holds a token.
	shared := Options{Name: "shared", Namespace: "apply-test", Server: "s:1", TokenSecret: "shared-token", Version: "1"}
	sob, err := Build(shared)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Apply(ctx, sob); !errors.Is(err, ErrSecretMissing) {
		t.Errorf("apply with no secret: %v, want ErrSecretMissing", err)
	}
	empty := &corev1.Secret{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: "shared-token", Namespace: "apply-test"}, Data: map[string][]byte{"other": []byte("x")}}
	if err := c.create(ctx, secrets, "apply-test", empty); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Apply(ctx, sob); !errors.Is(err, ErrSecretMissing) || !strings.Contains(err.Error(), `has no key "token"`) {
		t.Errorf("apply with a secret lacking the token: %v", err)
	}
	empty.Data[TokenKey] = []byte("t0k")
	body, _ := json.Marshal(empty)
	if _, err := c.apply(ctx, secrets, "apply-test", "shared-token", body); err != nil {
		t.Fatal(err)
	}
	if changes, err := c.Apply(ctx, sob); err != nil || len(changes) != 2 {
		t.Errorf("apply with the secret: %v %v, want serviceaccount and deployment", changes, err)
	}
	if changes, err := c.Delete(ctx, "apply-test", "shared"); err != nil || len(changes) != 2 {
		t.Errorf("Delete shared: %v %v; want its 2 objects, not the secret meshperf did not make", changes, err)
	}

	changes, err := c.Delete(ctx, "apply-test", "apply")
	if err != nil || len(changes) != 4 {
		t.Errorf("Delete: %v %v, want 4 deleted", changes, err)
	}
	// The ServiceAccount of "someone-else" is not "apply"'s to delete.
	if _, err := c.get(ctx, serviceAccounts, "apply-test", "someone-else"); err != nil {
		t.Errorf("Delete removed another instance's service account: %v", err)
	}
	if changes, err := c.Delete(ctx, "apply-test", "apply"); err != nil || len(changes) != 0 {
		t.Errorf("second Delete: %v %v, want nothing", changes, err)
	}
}

func decode(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("decode %T: %v\n%s", v, err, s)
	}
}

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// replaceTokens swaps every token in a kubeconfig for a wrong one.
func replaceTokens(kc string) string {
	lines := strings.Split(kc, "\n")
	for i, l := range lines {
		if k, _, ok := strings.Cut(l, "token: "); ok {
			lines[i] = k + "token: not-a-valid-token"
		}
	}
	return strings.Join(lines, "\n")
}

// freeAddr returns a 127.0.0.1 address nothing listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startServer runs meshperf server taking agents on agentAddr, and returns
// its HTTP URL once it answers.
func startServer(t *testing.T, bin, agentAddr, token string) string {
	t.Helper()
	dir := t.TempDir()
	addr := freeAddr(t)
	start(t, "server", bin, []string{"HOME=" + dir},
		"server", "--listen", addr, "--agent-listen", agentAddr, "--agent-token", token,
		"--db", filepath.Join(dir, "meshperf.db"))
	url := "http://" + addr
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(url + "/api/v1/agents")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("meshperf server at %s not answering after 60s: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startPod runs the container c of a pod named pod as the kubelet would:
// its environment resolved (downward API, secrets), $(VAR) references in
// its arguments expanded, the image's entrypoint being meshperf.
func startPod(t *testing.T, bin string, c corev1.Container, pod string, secrets map[string]corev1.Secret) {
	t.Helper()
	env := map[string]string{}
	var envList []string
	for _, e := range c.Env {
		v := e.Value
		switch {
		case e.ValueFrom == nil:
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name":
			v = pod
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "spec.nodeName":
			v = "localhost"
		case e.ValueFrom.SecretKeyRef != nil:
			s, ok := secrets[e.ValueFrom.SecretKeyRef.Name]
			if !ok {
				t.Fatalf("env %s: secret %s not read back", e.Name, e.ValueFrom.SecretKeyRef.Name)
			}
			v = string(s.Data[e.ValueFrom.SecretKeyRef.Key])
		default:
			t.Fatalf("env %s: source %+v not handled by this test", e.Name, e.ValueFrom)
		}
		env[e.Name] = v
		envList = append(envList, e.Name+"="+v)
	}
	args := make([]string, len(c.Args))
	for i, a := range c.Args {
		args[i] = expandRefs(a, env)
	}
	start(t, pod, bin, append(envList, "HOME="+t.TempDir()), args...)
}

// expandRefs expands $(VAR) as the kubelet does: defined variables are
// replaced, $$ is a literal $, anything else is left as written.
func expandRefs(s string, env map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch {
		case s[i+1] == '$':
			b.WriteByte('$')
			i++
		case s[i+1] == '(':
			if end := strings.IndexByte(s[i+2:], ')'); end >= 0 {
				if v, ok := env[s[i+2:i+2+end]]; ok {
					b.WriteString(v)
					i += 2 + end
					continue
				}
			}
			b.WriteByte('$')
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// start runs bin in the background until the test ends (SIGTERM, then
// SIGKILL), its output kept and shown if the test fails.
func start(t *testing.T, name, bin string, env []string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("%s (%s %s) output:\n%s", name, filepath.Base(bin), strings.Join(args, " "), out.String())
		}
	})
}

// agentView is an agent as GET /api/v1/agents lists it.
type agentView struct {
	Name   string            `json:"name"`
	State  string            `json:"state"`
	Labels map[string]string `json:"labels"`
}

// waitAgents waits (a minute at most) until the server lists every one of
// names, and returns them.
func waitAgents(t *testing.T, url string, names []string) []agentView {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var last []agentView
	for {
		var list struct {
			Agents []agentView `json:"agents"`
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/api/v1/agents", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if json.Unmarshal(body, &list) == nil {
				last = list.Agents
			}
		}
		var found []agentView
		for _, a := range last {
			if slices.Contains(names, a.Name) && a.State != "disconnected" {
				found = append(found, a)
			}
		}
		if len(found) == len(names) {
			return found
		}
		select {
		case <-ctx.Done():
			t.Fatalf("agents %v did not all register within a minute; the server lists %+v", names, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func TestExpandRefs(t *testing.T) {
	env := map[string]string{"POD_NAME": "p-1", "NODE_NAME": "n"}
	for in, want := range map[string]string{
		"$(POD_NAME)":              "p-1",
		"node=$(NODE_NAME),zone=a": "node=n,zone=a",
		"$$(POD_NAME)":             "$(POD_NAME)",
		"$(UNSET) $(POD_NAME":      "$(UNSET) $(POD_NAME",
		"cost $5":                  "cost $5",
		"$(POD_NAME)$(NODE_NAME)$": "p-1n$",
		"--server=127.0.0.1:7071":  "--server=127.0.0.1:7071",
	} {
		if got := expandRefs(in, env); got != want {
			t.Errorf("expandRefs(%q) = %q, want %q", in, got, want)
		}
	}
}
