// Package kube places meshperf agents on Kubernetes: it builds the objects
// of an agent Deployment (ServiceAccount, token Secret, Deployment and,
// optionally, its Namespace), prints them as YAML for kubectl, and applies or
// deletes them through client-go with the user's kubeconfig.
//
// Kubernetes schedules the agents; meshperf only describes them. Each pod
// runs `meshperf agent`, which dials the meshperf server, so the pods need
// no Service of their own.
package kube

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Defaults for Options fields left empty.
const (
	DefaultName   = "meshperf-agent"
	DefaultCPU    = "1"
	DefaultMemory = "256Mi"
	// ImageRepository is the image the agent runs unless Options.Image says
	// otherwise; the tag is meshperf's version.
	ImageRepository = "ghcr.io/meshperf/meshperf"
)

// The Secret key holding the agent token, and the environment variables the
// agent container gets.
const (
	TokenKey = "token"
	// TokenEnv is read by `meshperf agent` when --token is not given.
	TokenEnv   = "MESHPERF_AGENT_TOKEN"
	PodNameEnv = "POD_NAME"
	NodeEnv    = "NODE_NAME"
)

// Labels meshperf puts on every object it creates. Delete finds the objects
// again by LabelManagedBy and LabelInstance.
const (
	LabelName      = "app.kubernetes.io/name"
	LabelInstance  = "app.kubernetes.io/instance"
	LabelComponent = "app.kubernetes.io/component"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelVersion   = "app.kubernetes.io/version"
	ManagedBy      = "meshperf"
)

// Options describe one agent Deployment.
type Options struct {
	// Name of the Deployment and ServiceAccount, and prefix of the Secret
	// (default DefaultName).
	Name string
	// Namespace the objects go to; empty leaves it out of the objects, so
	// kubectl puts them in its current namespace.
	Namespace string
	// CreateNamespace adds the Namespace itself to the objects (Namespace
	// must then be set).
	CreateNamespace bool
	// Replicas is the number of agents (pods); 0 is allowed (scaled down).
	Replicas int32
	// Image is the container image (default ImageRepository:Version).
	Image string
	// ImagePullPolicy is Always, IfNotPresent, Never or empty (Kubernetes'
	// default for the tag).
	ImagePullPolicy string
	// Version of meshperf, used for the default image tag and the version label.
	Version string
	// Server is the address of the meshperf server's agent listener
	// (meshperf server --agent-listen), host:port as the pods reach it,
	// typically its Service: meshperf.meshperf.svc:7071.
	Server string
	// Token is the agent token, stored in a Secret the Deployment creates.
	// Leave it empty and set TokenSecret to use an existing Secret instead.
	Token string
	// TokenSecret names an existing Secret holding the token under key
	// TokenKey; with Token set it is the name of the Secret created
	// (default Name-token).
	TokenSecret string
	// AgentLabels are passed to each agent (--labels k=v,...), next to
	// node=<the pod's node>.
	AgentLabels map[string]string
	// CPU and Memory are the container's resource requests (defaults
	// DefaultCPU and DefaultMemory); CPULimit and MemoryLimit its limits:
	// empty means equal to the request, "none" means no limit.
	CPU, Memory           string
	CPULimit, MemoryLimit string
	// TLSSecret names an existing Secret for the agent stream's TLS,
	// mounted read-only at TLSDir: ca.crt is the CA that signed the
	// server's certificate (passed as --ca). With MutualTLS, tls.crt and
	// tls.key are the agent's client certificate and key (--cert, --key),
	// for a server started with --agent-ca.
	TLSSecret string
	MutualTLS bool
}

// TLSDir is where the pods find the TLSSecret's files.
const TLSDir = "/etc/meshperf/tls"

// NoLimit as CPULimit or MemoryLimit leaves that limit unset.
const NoLimit = "none"

// withDefaults returns o with empty fields set to their defaults.
func (o Options) withDefaults() Options {
	if o.Name == "" {
		o.Name = DefaultName
	}
	if o.Version == "" {
		o.Version = "latest"
	}
	if o.Image == "" {
		o.Image = ImageRepository + ":" + imageTag(o.Version)
	}
	if o.CPU == "" {
		o.CPU = DefaultCPU
	}
	if o.Memory == "" {
		o.Memory = DefaultMemory
	}
	if o.CPULimit == "" {
		o.CPULimit = o.CPU
	}
	if o.MemoryLimit == "" {
		o.MemoryLimit = o.Memory
	}
	if o.TokenSecret == "" && o.Token != "" {
		o.TokenSecret = o.Name + "-token"
	}
	return o
}

// DefaultImage is the image a meshperf of version v deploys unless told
// otherwise (`meshperf image` names what it builds the same way).
func DefaultImage(v string) string { return ImageRepository + ":" + imageTag(v) }

// imageTag turns a meshperf version into an image tag: tags allow
// [A-Za-z0-9_.-], so anything else (a "+dirty" build) becomes '-'.
func imageTag(v string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.', r == '-':
			return r
		}
		return '-'
	}, v)
}

// Validate reports every problem with o at once, each naming its option.
func (o Options) Validate() error {
	limitsGiven := map[string]bool{"cpu-limit": o.CPULimit != "", "memory-limit": o.MemoryLimit != ""}
	o = o.withDefaults()
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if msgs := validation.IsDNS1123Label(o.Name); len(msgs) > 0 {
		bad("--name %q: %s", o.Name, msgs[0])
	} else if len(o.Name) > 52 {
		// Pod names add "-<replicaset hash>-<5 characters>" and must stay
		// within 63 characters to be valid host names.
		bad("--name %q: at most 52 characters (pod names add 11)", o.Name)
	}
	if msgs := validation.IsDNS1123Label(o.Namespace); o.Namespace != "" && len(msgs) > 0 {
		bad("--namespace %q: %s", o.Namespace, msgs[0])
	}
	if o.CreateNamespace && o.Namespace == "" {
		bad("--create-namespace: needs --namespace")
	}
	if msgs := validation.IsDNS1123Subdomain(o.TokenSecret); o.TokenSecret != "" && len(msgs) > 0 {
		bad("--token-secret %q: %s", o.TokenSecret, msgs[0])
	}
	if o.Replicas < 0 {
		bad("--replicas %d: must be 0 or more", o.Replicas)
	}
	if o.Server == "" {
		bad("--server: required (host:port of the meshperf server's agent listener, as the pods reach it)")
	} else if strings.ContainsAny(o.Server, " \t\n$") {
		bad("--server %q: must not contain spaces or '$'", o.Server)
	}
	if o.Token == "" && o.TokenSecret == "" {
		bad("--token or --token-secret: one is required (the agent token, or an existing Secret holding it under key %q)", TokenKey)
	}
	switch o.ImagePullPolicy {
	case "", string(corev1.PullAlways), string(corev1.PullIfNotPresent), string(corev1.PullNever):
	default:
		bad("--image-pull-policy %q: want Always, IfNotPresent or Never", o.ImagePullPolicy)
	}
	for _, q := range []struct{ opt, v string }{
		{"cpu", o.CPU}, {"memory", o.Memory}, {"cpu-limit", o.CPULimit}, {"memory-limit", o.MemoryLimit},
	} {
		if given, isLimit := limitsGiven[q.opt]; isLimit && (!given || q.v == NoLimit) {
			continue // a defaulted limit is its request, checked already
		}
		v, err := resource.ParseQuantity(q.v)
		if err != nil {
			bad("--%s %q: not a quantity (e.g. 500m or 2 for CPU, 256Mi for memory)", q.opt, q.v)
		} else if v.Sign() <= 0 {
			bad("--%s %q: must be more than 0", q.opt, q.v)
		}
	}
	if errs == nil {
		if lim, err := resource.ParseQuantity(o.CPULimit); err == nil && lim.Cmp(resource.MustParse(o.CPU)) < 0 {
			bad("--cpu-limit %s: less than the request --cpu %s", o.CPULimit, o.CPU)
		}
		if lim, err := resource.ParseQuantity(o.MemoryLimit); err == nil && lim.Cmp(resource.MustParse(o.Memory)) < 0 {
			bad("--memory-limit %s: less than the request --memory %s", o.MemoryLimit, o.Memory)
		}
	}
	if msgs := validation.IsDNS1123Subdomain(o.TLSSecret); o.TLSSecret != "" && len(msgs) > 0 {
		bad("--tls-secret %q: %s", o.TLSSecret, msgs[0])
	}
	if o.MutualTLS && o.TLSSecret == "" {
		bad("--mtls: needs --tls-secret (a Secret with ca.crt, tls.crt and tls.key)")
	}
	for _, k := range slices.Sorted(maps.Keys(o.AgentLabels)) {
		if k == "" || strings.ContainsAny(k, "=, ") || strings.ContainsAny(o.AgentLabels[k], "=, ") {
			bad("--agent-labels %s=%s: keys and values must be non-empty and free of '=', ',' and spaces", k, o.AgentLabels[k])
		}
	}
	return errors.Join(errs...)
}

// Objects are the objects of one agent Deployment, in the order they are
// applied (each one exists before anything that refers to it).
type Objects struct {
	Namespace      *corev1.Namespace // nil unless Options.CreateNamespace
	ServiceAccount *corev1.ServiceAccount
	Secret         *corev1.Secret // nil when the token is in an existing Secret
	// TokenSecret names the Secret the pods take the token from: Secret's,
	// or an existing one.
	TokenSecret string
	Deployment  *appsv1.Deployment
}

// List returns the objects that are set, in apply order.
func (ob Objects) List() []Object {
	var l []Object
	if ob.Namespace != nil {
		l = append(l, ob.Namespace)
	}
	l = append(l, ob.ServiceAccount)
	if ob.Secret != nil {
		l = append(l, ob.Secret)
	}
	return append(l, ob.Deployment)
}

// Object is any of the objects Build returns.
type Object interface {
	metav1.Object
	runtime.Object
}

// Build validates o and returns the objects of its Deployment.
func Build(o Options) (Objects, error) {
	if err := o.Validate(); err != nil {
		return Objects{}, err
	}
	o = o.withDefaults()
	labels := map[string]string{
		LabelName:      DefaultName,
		LabelInstance:  o.Name,
		LabelComponent: "agent",
		LabelManagedBy: ManagedBy,
		LabelVersion:   validLabelValue(o.Version),
	}
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: o.Namespace, Labels: maps.Clone(labels)}
	}
	var ob Objects
	if o.CreateNamespace {
		ob.Namespace = &corev1.Namespace{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
			ObjectMeta: metav1.ObjectMeta{Name: o.Namespace, Labels: map[string]string{LabelManagedBy: ManagedBy, LabelInstance: o.Name}},
		}
	}
	// The agent does not call the Kubernetes API: its ServiceAccount has no
	// roles and its token is not mounted.
	ob.ServiceAccount = &corev1.ServiceAccount{
		TypeMeta:                     metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
		ObjectMeta:                   meta(o.Name),
		AutomountServiceAccountToken: new(false),
	}
	if o.Token != "" {
		ob.Secret = &corev1.Secret{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: meta(o.TokenSecret),
			Type:       corev1.SecretTypeOpaque,
			Data:       map[string][]byte{TokenKey: []byte(o.Token)},
		}
	}
	ob.TokenSecret = o.TokenSecret
	ob.Deployment = deployment(o, meta(o.Name), labels)
	return ob, nil
}

func deployment(o Options, meta metav1.ObjectMeta, labels map[string]string) *appsv1.Deployment {
	// The selector is immutable once created: only labels that never change.
	selector := map[string]string{LabelName: labels[LabelName], LabelInstance: labels[LabelInstance]}
	agentLabels := map[string]string{"node": "$(" + NodeEnv + ")"}
	maps.Copy(agentLabels, o.AgentLabels)
	var pairs []string
	for _, k := range slices.Sorted(maps.Keys(agentLabels)) {
		pairs = append(pairs, k+"="+agentLabels[k])
	}
	res := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse(o.CPU),
			corev1.ResourceMemory: resource.MustParse(o.Memory),
		},
	}
	if o.CPULimit != NoLimit || o.MemoryLimit != NoLimit {
		res.Limits = corev1.ResourceList{}
		if o.CPULimit != NoLimit {
			res.Limits[corev1.ResourceCPU] = resource.MustParse(o.CPULimit)
		}
		if o.MemoryLimit != NoLimit {
			res.Limits[corev1.ResourceMemory] = resource.MustParse(o.MemoryLimit)
		}
	}
	fieldEnv := func(name, path string) corev1.EnvVar {
		return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{
			FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: path},
		}}
	}
	container := corev1.Container{
		Name:            "agent",
		Image:           o.Image,
		ImagePullPolicy: corev1.PullPolicy(o.ImagePullPolicy),
		Args: []string{
			"agent",
			"--server", o.Server,
			"--name", "$(" + PodNameEnv + ")",
			"--labels", strings.Join(pairs, ","),
		},
		Env: []corev1.EnvVar{
			fieldEnv(PodNameEnv, "metadata.name"),
			fieldEnv(NodeEnv, "spec.nodeName"),
			{Name: TokenEnv, ValueFrom: &corev1.EnvVarSource{
				SecretKeyRef: &corev1.SecretKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: o.TokenSecret},
					Key:                  TokenKey,
				},
			}},
		},
		Resources: res,
		SecurityContext: &corev1.SecurityContext{
			RunAsNonRoot:             new(true),
			ReadOnlyRootFilesystem:   new(true),
			AllowPrivilegeEscalation: new(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		},
		// The root file system is read-only; a small /tmp is writable.
		VolumeMounts: []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}},
	}
	volumes := []corev1.Volume{{Name: "tmp", VolumeSource: corev1.VolumeSource{
		EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: new(resource.MustParse("64Mi"))},
	}}}
	if o.TLSSecret != "" {
		container.Args = append(container.Args, "--ca", TLSDir+"/ca.crt")
		if o.MutualTLS {
			container.Args = append(container.Args, "--cert", TLSDir+"/tls.crt", "--key", TLSDir+"/tls.key")
		}
		container.VolumeMounts = append(container.VolumeMounts, corev1.VolumeMount{Name: "tls", MountPath: TLSDir, ReadOnly: true})
		// Readable by the agent's group only (fsGroup below): the key is secret.
		volumes = append(volumes, corev1.Volume{Name: "tls", VolumeSource: corev1.VolumeSource{
			Secret: &corev1.SecretVolumeSource{SecretName: o.TLSSecret, DefaultMode: new(int32(0o440))},
		}})
	}
	podLabels := maps.Clone(labels)
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: meta,
		Spec: appsv1.DeploymentSpec{
			Replicas: new(o.Replicas),
			Selector: &metav1.LabelSelector{MatchLabels: selector},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels},
				Spec: corev1.PodSpec{
					ServiceAccountName:           o.Name,
					AutomountServiceAccountToken: new(false),
					// The agent stops its test and says goodbye on SIGTERM.
					TerminationGracePeriodSeconds: new(int64(30)),
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   new(true),
						RunAsUser:      new(int64(65532)),
						RunAsGroup:     new(int64(65532)),
						FSGroup:        new(int64(65532)),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{container},
					Volumes:    volumes,
				},
			},
		},
	}
}

// validLabelValue makes s a valid label value (63 characters of
// [A-Za-z0-9_.-], alphanumeric at both ends).
func validLabelValue(s string) string {
	s = imageTag(s)
	if len(s) > 63 {
		s = s[:63]
	}
	s = strings.Trim(s, "-_.")
	if s == "" {
		return "unknown"
	}
	return s
}
