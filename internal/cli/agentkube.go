package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/meshperf/meshperf/kube"
)

// agentKubeFlags are the flags of meshperf agent manifest and deploy, as typed.
type agentKubeFlags struct {
	name, namespace, image, pullPolicy string
	createNamespace                    bool
	replicas                           int32
	server, token, tokenSecret         string
	labels                             map[string]string
	cpu, memory, cpuLimit, memoryLimit string
	tlsSecret                          string
	mtls                               bool
}

func (f *agentKubeFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.name, "name", kube.DefaultName, "name of the Deployment and ServiceAccount (and instance label)")
	fs.StringVarP(&f.namespace, "namespace", "n", "", "namespace (manifest: none, so kubectl's current one; deploy: the kubeconfig context's, else default)")
	fs.BoolVar(&f.createNamespace, "create-namespace", false, "create the namespace if it does not exist")
	fs.Int32Var(&f.replicas, "replicas", 1, "number of agents (pods)")
	fs.StringVar(&f.image, "image", "", "container image (default "+kube.ImageRepository+":<this meshperf's version>)")
	fs.StringVar(&f.pullPolicy, "image-pull-policy", "", "Always, IfNotPresent or Never (default: Kubernetes' for the tag)")
	fs.StringVar(&f.server, "server", "", "the server's agent address (its --agent-listen) as the pods reach it: host:port or grpc[s]://host:port")
	fs.StringVar(&f.token, "token", "", "agent join token (the server's --agent-token), stored in a Secret (default env "+kube.TokenEnv+")")
	fs.StringVar(&f.tokenSecret, "token-secret", "", "Secret holding the token under key \""+kube.TokenKey+"\": an existing one when no token is given, else the one created (default <name>-token)")
	fs.StringToStringVar(&f.labels, "agent-labels", nil, "labels each agent reports, k=v,... (node=<the pod's node> is always added)")
	fs.StringVar(&f.cpu, "cpu", kube.DefaultCPU, "CPU request of each agent")
	fs.StringVar(&f.memory, "memory", kube.DefaultMemory, "memory request of each agent")
	fs.StringVar(&f.cpuLimit, "cpu-limit", "", "CPU limit (default: the request, for the Guaranteed QoS class; \"none\" for no limit)")
	fs.StringVar(&f.memoryLimit, "memory-limit", "", "memory limit (default: the request; \"none\" for no limit)")
	fs.StringVar(&f.tlsSecret, "tls-secret", "", "existing Secret for TLS to the server: ca.crt (the CA of the server's certificate), and for --mtls tls.crt and tls.key; mounted at "+kube.TLSDir)
	fs.BoolVar(&f.mtls, "mtls", false, "agents present tls.crt/tls.key from --tls-secret (for a server with --agent-ca)")
}

// options turns the flags into kube.Options, validated.
func (f *agentKubeFlags) options() (kube.Options, error) {
	token := f.token
	if token == "" && f.tokenSecret == "" {
		token = os.Getenv(kube.TokenEnv)
	}
	o := kube.Options{
		Name: f.name, Namespace: f.namespace, CreateNamespace: f.createNamespace,
		Replicas: f.replicas, Image: f.image, ImagePullPolicy: f.pullPolicy, Version: Version,
		Server: f.server, Token: token, TokenSecret: f.tokenSecret, AgentLabels: f.labels,
		CPU: f.cpu, Memory: f.memory, CPULimit: f.cpuLimit, MemoryLimit: f.memoryLimit,
		TLSSecret: f.tlsSecret, MutualTLS: f.mtls,
	}
	if err := o.Validate(); err != nil {
		return o, &UsageError{Err: err}
	}
	return o, nil
}

// addAgentKubeCommands adds the Kubernetes subcommands of meshperf agent:
// manifest and deploy.
func addAgentKubeCommands(agentCmd *cobra.Command) {
	agentCmd.AddCommand(newAgentManifestCmd(), newAgentDeployCmd())
}

func newAgentManifestCmd() *cobra.Command {
	var f agentKubeFlags
	cmd := &cobra.Command{
		Use:   "manifest",
		Short: "Print a Kubernetes Deployment of agents, for kubectl apply -f -",
		Long: `meshperf agent manifest prints, as YAML, the Kubernetes objects that run
--replicas agents dialling the meshperf server at --server: a ServiceAccount
(no API access, no token mounted), a Secret with the agent token (unless
--token-secret names an existing one), and a Deployment whose pods run
"meshperf agent --server ADDR --name $(POD_NAME)" with the token from the
Secret (env ` + kube.TokenEnv + `), resource requests and limits, and a
non-root, read-only container. With --create-namespace, the Namespace too.

  meshperf agent manifest --server meshperf.meshperf.svc:7071 --token "$T" \
      --replicas 3 -n loadtest | kubectl apply -f -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAgentManifest(cmd.OutOrStdout(), f)
		},
	}
	f.register(cmd.Flags())
	return cmd
}

func runAgentManifest(out io.Writer, f agentKubeFlags) error {
	o, err := f.options()
	if err != nil {
		return err
	}
	ob, err := kube.Build(o)
	if err != nil {
		return &UsageError{Err: err}
	}
	return kube.WriteYAML(out, ob.List())
}

func newAgentDeployCmd() *cobra.Command {
	var f agentKubeFlags
	var cfg kube.Config
	var del bool
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "Create or update the agent Deployment in a Kubernetes cluster (--delete removes it)",
		Long: `meshperf agent deploy applies the objects meshperf agent manifest prints,
through the Kubernetes API with your kubeconfig (--kubeconfig, else
$KUBECONFIG, else ~/.kube/config, else the pod's service account; --context
to choose a context). It is idempotent: run it again with other --replicas or
--image to change the Deployment in place (server-side apply, field manager
"meshperf").

--delete removes every object meshperf created for --name in the namespace
(found by their labels), and the namespace if --create-namespace created it
(with whatever else was put in it since).

  meshperf agent deploy --server meshperf.meshperf.svc:7071 --token "$T" \
      --replicas 10 -n loadtest --create-namespace
  meshperf agent deploy --delete -n loadtest`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAgentDeploy(cmd.Context(), cmd.OutOrStdout(), f, cfg, del)
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&cfg.Kubeconfig, "kubeconfig", "", "kubeconfig file (default $KUBECONFIG, else ~/.kube/config)")
	cmd.Flags().StringVar(&cfg.Context, "context", "", "kubeconfig context (default its current-context)")
	cmd.Flags().DurationVar(&cfg.Timeout, "request-timeout", 30*time.Second, "limit on each request to the API server")
	cmd.Flags().BoolVar(&del, "delete", false, "delete the agents' objects instead of applying them")
	return cmd
}

func runAgentDeploy(ctx context.Context, out io.Writer, f agentKubeFlags, cfg kube.Config, del bool) error {
	var o kube.Options
	if !del {
		var err error
		if o, err = f.options(); err != nil {
			return err
		}
	}
	client, err := kube.Connect(cfg)
	if err != nil {
		return kubeError(err)
	}
	ns := f.namespace
	if ns == "" {
		ns = client.Namespace
	}
	if _, err := client.Ping(ctx); err != nil {
		return kubeError(err)
	}
	var changes []kube.Change
	if del {
		changes, err = client.Delete(ctx, ns, f.name)
		if err == nil && len(changes) == 0 {
			fmt.Fprintf(out, "no meshperf agents named %s in namespace %s\n", f.name, ns)
		}
	} else {
		o.Namespace = ns
		ob, berr := kube.Build(o)
		if berr != nil {
			return &UsageError{Err: berr}
		}
		changes, err = client.Apply(ctx, ob)
	}
	for _, c := range changes {
		fmt.Fprintln(out, c)
	}
	return kubeError(err)
}

// kubeError makes configuration mistakes usage errors (exit 2); the rest
// (unreachable, unauthorized, forbidden) stay failures (exit 3).
func kubeError(err error) error {
	if errors.Is(err, kube.ErrNoKubeconfig) || errors.Is(err, kube.ErrNamespaceMissing) || errors.Is(err, kube.ErrSecretMissing) {
		return &UsageError{Err: err}
	}
	return err
}
