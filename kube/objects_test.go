package kube

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"
)

func baseOptions() Options {
	return Options{Server: "meshperf.meshperf.svc:7071", Token: "s3cret", Replicas: 3, Version: "1.2.3", Namespace: "load"}
}

func TestBuildDeployment(t *testing.T) {
	ob, err := Build(baseOptions())
	if err != nil {
		t.Fatal(err)
	}
	if ob.Namespace != nil {
		t.Errorf("Namespace object without CreateNamespace")
	}
	d := ob.Deployment
	if d.Name != DefaultName || d.Namespace != "load" {
		t.Errorf("deployment %s/%s, want load/%s", d.Namespace, d.Name, DefaultName)
	}
	if got := *d.Spec.Replicas; got != 3 {
		t.Errorf("replicas %d, want 3", got)
	}
	// Every selector label must be on the pods, or the API server refuses it.
	for k, v := range d.Spec.Selector.MatchLabels {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("selector %s=%s not in the pod template's labels %v", k, v, d.Spec.Template.Labels)
		}
	}
	if _, ok := d.Spec.Selector.MatchLabels[LabelVersion]; ok {
		t.Errorf("selector holds the version label: upgrades would need a new Deployment")
	}
	pod := d.Spec.Template.Spec
	if pod.ServiceAccountName != DefaultName || pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Errorf("service account %q automount %v, want %s and false", pod.ServiceAccountName, pod.AutomountServiceAccountToken, DefaultName)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	if want := "ghcr.io/meshperf/meshperf:1.2.3"; c.Image != want {
		t.Errorf("image %q, want %q", c.Image, want)
	}
	wantArgs := []string{"agent", "--server", "meshperf.meshperf.svc:7071", "--name", "$(POD_NAME)", "--labels", "node=$(NODE_NAME)"}
	if !slices.Equal(c.Args, wantArgs) {
		t.Errorf("args %q, want %q", c.Args, wantArgs)
	}
	if len(c.Command) != 0 {
		t.Errorf("command %q: the image's entrypoint should run", c.Command)
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	if e := env[PodNameEnv]; e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != "metadata.name" {
		t.Errorf("%s = %+v, want the downward API's metadata.name", PodNameEnv, e)
	}
	if e := env[NodeEnv]; e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != "spec.nodeName" {
		t.Errorf("%s = %+v, want the downward API's spec.nodeName", NodeEnv, e)
	}
	e := env[TokenEnv]
	if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
		t.Fatalf("%s = %+v, want a secretKeyRef", TokenEnv, e)
	}
	if ref := e.ValueFrom.SecretKeyRef; ref.Name != ob.Secret.Name || ref.Key != TokenKey {
		t.Errorf("token from secret %s key %s, want %s key %s", ref.Name, ref.Key, ob.Secret.Name, TokenKey)
	}
	if got := string(ob.Secret.Data[TokenKey]); got != "s3cret" || ob.Secret.Name != DefaultName+"-token" || ob.Secret.Namespace != "load" {
		t.Errorf("secret %s/%s holds %q, want load/%s-token holding the token", ob.Secret.Namespace, ob.Secret.Name, got, DefaultName)
	}
	for _, r := range []struct {
		list corev1.ResourceList
		name corev1.ResourceName
		want string
	}{
		{c.Resources.Requests, corev1.ResourceCPU, DefaultCPU},
		{c.Resources.Requests, corev1.ResourceMemory, DefaultMemory},
		{c.Resources.Limits, corev1.ResourceCPU, DefaultCPU},
		{c.Resources.Limits, corev1.ResourceMemory, DefaultMemory},
	} {
		got, ok := r.list[r.name]
		if !ok || got.Cmp(resource.MustParse(r.want)) != 0 {
			t.Errorf("resource %s = %v, want %s (requests %v, limits %v)", r.name, got.String(), r.want, c.Resources.Requests, c.Resources.Limits)
		}
	}
	sc := c.SecurityContext
	if sc == nil || !*sc.RunAsNonRoot || !*sc.ReadOnlyRootFilesystem || *sc.AllowPrivilegeEscalation || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Errorf("container security context %+v: want non-root, read-only root, no escalation, no capabilities", sc)
	}
	if psc := pod.SecurityContext; psc == nil || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Errorf("pod security context %+v: want a non-zero user", psc)
	}
	for _, obj := range ob.List() {
		if l := obj.GetLabels(); l[LabelManagedBy] != ManagedBy || l[LabelInstance] != DefaultName {
			t.Errorf("%s labels %v: Delete would not find it", describe(obj), l)
		}
	}
}

func TestBuildOptions(t *testing.T) {
	tests := []struct {
		name  string
		opts  func(*Options)
		check func(*testing.T, Objects)
	}{
		{"existing token secret", func(o *Options) { o.Token, o.TokenSecret = "", "shared-token" }, func(t *testing.T, ob Objects) {
			if ob.Secret != nil {
				t.Errorf("a Secret was made: %v", ob.Secret.Name)
			}
			ref := ob.Deployment.Spec.Template.Spec.Containers[0].Env[2].ValueFrom.SecretKeyRef
			if ref.Name != "shared-token" {
				t.Errorf("token from %s, want shared-token", ref.Name)
			}
		}},
		{"named token secret", func(o *Options) { o.TokenSecret = "mine" }, func(t *testing.T, ob Objects) {
			if ob.Secret == nil || ob.Secret.Name != "mine" {
				t.Errorf("secret %v, want one named mine", ob.Secret)
			}
		}},
		{"create namespace", func(o *Options) { o.CreateNamespace = true }, func(t *testing.T, ob Objects) {
			if ob.Namespace == nil || ob.Namespace.Name != "load" || ob.Namespace.Labels[LabelInstance] != DefaultName {
				t.Fatalf("namespace %+v", ob.Namespace)
			}
			if l := ob.List(); l[0] != Object(ob.Namespace) {
				t.Errorf("namespace is not applied first")
			}
		}},
		{"no limits", func(o *Options) { o.CPULimit, o.MemoryLimit = NoLimit, NoLimit }, func(t *testing.T, ob Objects) {
			if l := ob.Deployment.Spec.Template.Spec.Containers[0].Resources.Limits; len(l) != 0 {
				t.Errorf("limits %v, want none", l)
			}
		}},
		{"own resources", func(o *Options) { o.CPU, o.Memory, o.CPULimit = "500m", "1Gi", "2" }, func(t *testing.T, ob Objects) {
			r := ob.Deployment.Spec.Template.Spec.Containers[0].Resources
			if r.Requests.Cpu().String() != "500m" || r.Requests.Memory().String() != "1Gi" || r.Limits.Cpu().String() != "2" || r.Limits.Memory().String() != "1Gi" {
				t.Errorf("resources %v / %v", r.Requests, r.Limits)
			}
		}},
		{"image, name and labels", func(o *Options) {
			o.Image, o.Name, o.ImagePullPolicy = "registry.local/mp:dev", "agents-b", "Never"
			o.AgentLabels = map[string]string{"zone": "b", "az": "1"}
		}, func(t *testing.T, ob Objects) {
			c := ob.Deployment.Spec.Template.Spec.Containers[0]
			if c.Image != "registry.local/mp:dev" || c.ImagePullPolicy != corev1.PullNever {
				t.Errorf("image %s %s", c.Image, c.ImagePullPolicy)
			}
			if got, want := c.Args[len(c.Args)-1], "az=1,node=$(NODE_NAME),zone=b"; got != want {
				t.Errorf("labels %q, want %q", got, want)
			}
			if ob.Deployment.Name != "agents-b" || ob.ServiceAccount.Name != "agents-b" || ob.Secret.Name != "agents-b-token" {
				t.Errorf("names %s %s %s", ob.Deployment.Name, ob.ServiceAccount.Name, ob.Secret.Name)
			}
		}},
		{"dirty version tag", func(o *Options) { o.Version = "v1.2.3+dirty" }, func(t *testing.T, ob Objects) {
			if got := ob.Deployment.Spec.Template.Spec.Containers[0].Image; got != ImageRepository+":v1.2.3-dirty" {
				t.Errorf("image %s", got)
			}
		}},
		{"tls", func(o *Options) { o.TLSSecret = "agent-tls" }, func(t *testing.T, ob Objects) {
			spec := ob.Deployment.Spec.Template.Spec
			c := spec.Containers[0]
			if got := strings.Join(c.Args[len(c.Args)-2:], " "); got != "--ca "+TLSDir+"/ca.crt" {
				t.Errorf("args end %q, want --ca %s/ca.crt", got, TLSDir)
			}
			if slices.Contains(c.Args, "--cert") {
				t.Errorf("client certificate without --mtls: %q", c.Args)
			}
			v := spec.Volumes[len(spec.Volumes)-1]
			if v.Secret == nil || v.Secret.SecretName != "agent-tls" || *v.Secret.DefaultMode != 0o440 || *spec.SecurityContext.FSGroup != 65532 {
				t.Errorf("volume %+v, fsGroup %v: want the secret readable by the agent's group only", v, spec.SecurityContext.FSGroup)
			}
			if m := c.VolumeMounts[len(c.VolumeMounts)-1]; m.MountPath != TLSDir || !m.ReadOnly {
				t.Errorf("mount %+v", m)
			}
		}},
		{"mutual tls", func(o *Options) { o.TLSSecret, o.MutualTLS = "agent-tls", true }, func(t *testing.T, ob Objects) {
			c := ob.Deployment.Spec.Template.Spec.Containers[0]
			want := "--ca " + TLSDir + "/ca.crt --cert " + TLSDir + "/tls.crt --key " + TLSDir + "/tls.key"
			if got := strings.Join(c.Args[len(c.Args)-6:], " "); got != want {
				t.Errorf("args end %q, want %q", got, want)
			}
		}},
		{"zero replicas", func(o *Options) { o.Replicas = 0 }, func(t *testing.T, ob Objects) {
			if *ob.Deployment.Spec.Replicas != 0 {
				t.Errorf("replicas %d", *ob.Deployment.Spec.Replicas)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := baseOptions()
			tt.opts(&o)
			ob, err := Build(o)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, ob)
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		opts func(*Options)
		want []string // each must appear in the error
	}{
		{"no server", func(o *Options) { o.Server = "" }, []string{"--server: required"}},
		{"no token", func(o *Options) { o.Token = "" }, []string{"--token or --token-secret"}},
		{"bad name", func(o *Options) { o.Name = "Agents_1" }, []string{`--name "Agents_1"`}},
		{"long name", func(o *Options) { o.Name = strings.Repeat("a", 53) }, []string{"at most 52"}},
		{"bad namespace", func(o *Options) { o.Namespace = "a.b" }, []string{`--namespace "a.b"`}},
		{"create without namespace", func(o *Options) { o.Namespace, o.CreateNamespace = "", true }, []string{"--create-namespace: needs --namespace"}},
		{"negative replicas", func(o *Options) { o.Replicas = -1 }, []string{"--replicas -1"}},
		{"bad cpu", func(o *Options) { o.CPU = "lots" }, []string{`--cpu "lots": not a quantity`}},
		{"zero memory", func(o *Options) { o.Memory = "0" }, []string{`--memory "0": must be more than 0`}},
		{"limit below request", func(o *Options) { o.CPU, o.CPULimit = "2", "1" }, []string{"--cpu-limit 1: less than the request"}},
		{"pull policy", func(o *Options) { o.ImagePullPolicy = "Sometimes" }, []string{"--image-pull-policy"}},
		{"bad label", func(o *Options) { o.AgentLabels = map[string]string{"a": "b,c"} }, []string{"--agent-labels a=b,c"}},
		{"mtls without secret", func(o *Options) { o.MutualTLS = true }, []string{"--mtls: needs --tls-secret"}},
		{"bad tls secret", func(o *Options) { o.TLSSecret = "TLS_x" }, []string{`--tls-secret "TLS_x"`}},
		{"all at once", func(o *Options) { o.Server, o.Token, o.Replicas = "", "", -2 },
			[]string{"--server", "--token", "--replicas -2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := baseOptions()
			tt.opts(&o)
			err := o.Validate()
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if _, berr := Build(o); berr == nil {
				t.Errorf("Build accepted what Validate refused")
			}
		})
	}
	if err := baseOptions().Validate(); err != nil {
		t.Errorf("base options: %v", err)
	}
}

// TestWriteYAML reads the printed stream back: every object whole, and none
// of the empty fields the API server fills in.
func TestWriteYAML(t *testing.T) {
	o := baseOptions()
	o.CreateNamespace = true
	ob, err := Build(o)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteYAML(&buf, ob.List()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, bad := range []string{"status:", "creationTimestamp", "strategy: {}", "spec: {}"} {
		if strings.Contains(out, bad) {
			t.Errorf("manifest holds %q:\n%s", bad, out)
		}
	}
	docs := strings.Split(out, "\n---\n")
	if len(docs) != 4 {
		t.Fatalf("%d documents, want 4 (namespace, serviceaccount, secret, deployment):\n%s", len(docs), out)
	}
	kinds := []string{"Namespace", "ServiceAccount", "Secret", "Deployment"}
	for i, doc := range docs {
		var tm struct{ APIVersion, Kind string }
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		if tm.Kind != kinds[i] || tm.APIVersion == "" {
			t.Errorf("document %d is %s %s, want %s", i, tm.APIVersion, tm.Kind, kinds[i])
		}
	}
	var d appsv1.Deployment
	if err := yaml.UnmarshalStrict([]byte(docs[3]), &d); err != nil {
		t.Fatal(err)
	}
	c := d.Spec.Template.Spec.Containers[0]
	if *d.Spec.Replicas != 3 || c.Image != ob.Deployment.Spec.Template.Spec.Containers[0].Image ||
		!slices.Equal(c.Args, ob.Deployment.Spec.Template.Spec.Containers[0].Args) {
		t.Errorf("deployment read back differs: replicas %d image %s args %q", *d.Spec.Replicas, c.Image, c.Args)
	}
	var s corev1.Secret
	if err := yaml.UnmarshalStrict([]byte(docs[2]), &s); err != nil {
		t.Fatal(err)
	}
	if string(s.Data[TokenKey]) != "s3cret" {
		t.Errorf("secret read back holds %q", s.Data[TokenKey])
	}
}
