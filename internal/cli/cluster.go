package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/meshperf/meshperf/internal/cluster"
	"github.com/meshperf/meshperf/kube"
)

// clusterFlags are the flags every cluster subcommand takes.
type clusterFlags struct {
	cfg    kube.Config
	wait   time.Duration
	output string
	ns     string
}

func (f *clusterFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.cfg.Kubeconfig, "kubeconfig", "", "kubeconfig file (default $KUBECONFIG, else ~/.kube/config, else the pod's service account)")
	cmd.Flags().StringVar(&f.cfg.Context, "context", "", "kubeconfig context (default its current-context)")
	cmd.Flags().DurationVar(&f.cfg.Timeout, "request-timeout", 10*time.Second, "limit on each request to the API server")
	cmd.Flags().DurationVar(&f.wait, "wait", 30*time.Second, "limit on reading the whole inventory")
	cmd.Flags().StringVarP(&f.output, "output", "o", "text", "text or json")
}

func (f *clusterFlags) check() error {
	var errs []error
	if f.output != "text" && f.output != "json" {
		errs = append(errs, usageErrorf("--output %q: want text or json", f.output))
	}
	if f.wait <= 0 || f.wait > 10*time.Minute {
		errs = append(errs, usageErrorf("--wait %s: want more than 0 and at most 10m", f.wait))
	}
	if f.cfg.Timeout <= 0 || f.cfg.Timeout > 10*time.Minute {
		errs = append(errs, usageErrorf("--request-timeout %s: want more than 0 and at most 10m", f.cfg.Timeout))
	}
	return errors.Join(errs...)
}

func newClusterCmd(stdio IO) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "What runs in the Kubernetes cluster: meshes, versions, injection coverage, workloads",
		Long: `meshperf cluster reads the cluster your kubeconfig names (--kubeconfig, else
$KUBECONFIG, else ~/.kube/config, else the pod's service account) and tells
which service meshes are installed (Istio sidecar and ambient, Linkerd,
Consul, Kuma, Cilium, Open Service Mesh, Traefik Mesh, NGINX Service Mesh),
their versions, the Gateway API and SMI CRDs, and which namespaces and pods
the meshes cover. It needs list and watch on namespaces, services, pods,
deployments, statefulsets, daemonsets, customresourcedefinitions, Gateway
API routes and the meshes' mTLS resources (Istio PeerAuthentications, Kuma
Meshes); what RBAC refuses is named, and the rest still shown.`,
	}
	cmd.AddCommand(newClusterStatusCmd(stdio), newClusterWorkloadsCmd(stdio), newClusterMetricsCmd(stdio))
	return cmd
}

func newClusterStatusCmd(stdio IO) *cobra.Command {
	var f clusterFlags
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Meshes, their versions and health, Gateway API and SMI, and data-plane coverage",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.check(); err != nil {
				return err
			}
			return runClusterStatus(cmd.Context(), stdio.Out, f)
		},
	}
	f.register(cmd)
	return cmd
}

func newClusterWorkloadsCmd(stdio IO) *cobra.Command {
	var f clusterFlags
	cmd := &cobra.Command{
		Use:   "workloads",
		Short: "Deployments, StatefulSets and DaemonSets with their pods' proxies",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.check(); err != nil {
				return err
			}
			return runClusterWorkloads(cmd.Context(), stdio.Out, f)
		},
	}
	f.register(cmd)
	cmd.Flags().StringVarP(&f.ns, "namespace", "n", "", "only this namespace (default all)")
	return cmd
}

// clusterSnapshot reads the cluster once.
func clusterSnapshot(ctx context.Context, f clusterFlags) (cluster.Snapshot, error) {
	return cluster.ReadOnce(ctx, f.cfg, f.wait)
}

// deniedError names what RBAC refused, after what could be read was shown.
func deniedError(s cluster.Snapshot) error {
	if len(s.Unreadable) == 0 {
		return nil
	}
	var parts []string
	for _, d := range s.Unreadable {
		parts = append(parts, d.Resource)
	}
	return fmt.Errorf("%w: the kubeconfig's user may not list and watch %s (RBAC: grant the verbs list and watch on them); the rest is shown",
		kube.ErrForbidden, strings.Join(parts, ", "))
}

func runClusterStatus(ctx context.Context, out io.Writer, f clusterFlags) error {
	s, err := clusterSnapshot(ctx, f)
	if err != nil {
		return err
	}
	if f.output == "json" {
		view := struct {
			Time       time.Time           `json:"time"`
			Server     string              `json:"server"`
			Meshes     []cluster.Mesh      `json:"meshes"`
			GatewayAPI *cluster.GatewayAPI `json:"gatewayAPI,omitempty"`
			SMI        []cluster.CRD       `json:"smi,omitempty"`
			Coverage   cluster.Coverage    `json:"coverage"`
			Namespaces []cluster.Namespace `json:"namespaces"`
			Routes     []cluster.Route     `json:"routes,omitempty"`
			Unreadable []cluster.Denied    `json:"unreadable,omitempty"`
		}{s.Time, s.Server, nonNil(s.Meshes), s.GatewayAPI, s.SMI, s.Coverage, nonNil(s.Namespaces), s.Routes, s.Unreadable}
		if err := writeJSON(out, view); err != nil {
			return err
		}
		return deniedError(s)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "cluster %s\n\n", s.Server)
	if len(s.Meshes) == 0 {
		fmt.Fprintln(tw, "no service mesh found")
	} else {
		fmt.Fprintln(tw, "MESH\tVERSION\tMODES\tMTLS\tHEALTH\tCONTROL PLANE\tINJECTED NAMESPACES\tPODS WITH PROXY\tPROXY VERSIONS")
		for _, m := range s.Meshes {
			var comps []string
			for _, c := range m.Components {
				comps = append(comps, fmt.Sprintf("%s/%s %d/%d", c.Namespace, c.Name, c.Ready, c.Desired))
			}
			if len(comps) == 0 {
				comps = []string{fmt.Sprintf("none (%d CRDs only)", len(m.CRDs))}
			}
			health := "healthy"
			if !m.Healthy {
				health = "not ready"
			}
			pods := fmt.Sprint(m.PodsWithProxy)
			if m.PodsAmbient > 0 {
				pods += fmt.Sprintf(" (+%d ambient)", m.PodsAmbient)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.Name, dash(m.Version), dash(strings.Join(m.Modes, ",")), dash(m.MTLS), health,
				strings.Join(comps, " "), dash(strings.Join(m.InjectedNamespaces, ",")), pods, dash(strings.Join(m.ProxyVersions, ",")))
		}
	}
	fmt.Fprintln(tw)
	if g := s.GatewayAPI; g != nil {
		var kinds []string
		for _, c := range g.CRDs {
			kinds = append(kinds, c.Kind+" "+strings.Join(c.Versions, ","))
		}
		fmt.Fprintf(tw, "Gateway API %s (%s channel): %s\n", dash(g.Version), dash(g.Channel), strings.Join(kinds, "; "))
	} else {
		fmt.Fprintln(tw, "Gateway API: not installed")
	}
	gamma := 0
	for _, r := range s.Routes {
		if r.GAMMA {
			gamma++
		}
	}
	fmt.Fprintf(tw, "routes: %d (%d GAMMA, parent a Service)\n", len(s.Routes), gamma)
	if len(s.SMI) > 0 {
		var kinds []string
		for _, c := range s.SMI {
			kinds = append(kinds, c.Kind+" "+c.Group+"/"+strings.Join(c.Versions, ","))
		}
		fmt.Fprintf(tw, "SMI: %s\n", strings.Join(kinds, "; "))
	}
	c := s.Coverage
	fmt.Fprintf(tw, "coverage: %d pods: %d with a proxy, %d ambient, %d without; %d of %d namespaces injected\n",
		c.Pods, c.WithProxy, c.Ambient, c.WithoutProxy, c.InjectedNS, c.NamespacesAll)
	for _, d := range s.Unreadable {
		fmt.Fprintf(tw, "unreadable: %s\n", d)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return deniedError(s)
}

func runClusterWorkloads(ctx context.Context, out io.Writer, f clusterFlags) error {
	s, err := clusterSnapshot(ctx, f)
	if err != nil {
		return err
	}
	var ws []cluster.Workload
	for _, w := range s.Workloads {
		if f.ns == "" || w.Namespace == f.ns {
			ws = append(ws, w)
		}
	}
	var pods []cluster.Pod
	for _, p := range s.Pods {
		if f.ns == "" || p.Namespace == f.ns {
			pods = append(pods, p)
		}
	}
	if f.ns != "" && !slices.ContainsFunc(s.Namespaces, func(n cluster.Namespace) bool { return n.Name == f.ns }) &&
		!slices.ContainsFunc(s.Unreadable, func(d cluster.Denied) bool { return d.Resource == "namespaces" }) {
		return usageErrorf("--namespace %s: no such namespace in the cluster", f.ns)
	}
	if f.output == "json" {
		view := struct {
			Namespace  string             `json:"namespace,omitempty"`
			Workloads  []cluster.Workload `json:"workloads"`
			Pods       []cluster.Pod      `json:"pods"`
			Unreadable []cluster.Denied   `json:"unreadable,omitempty"`
		}{f.ns, nonNil(ws), nonNil(pods), s.Unreadable}
		if err := writeJSON(out, view); err != nil {
			return err
		}
		return deniedError(s)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAMESPACE\tKIND\tNAME\tREADY\tPODS\tMESHED\tMESH\tIMAGES")
	for _, w := range ws {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%d\t%d\t%s\t%s\n", w.Namespace, w.Kind, w.Name, w.Ready, w.Desired, w.Pods, w.Meshed, dash(w.Mesh), strings.Join(w.Images, ","))
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "NAMESPACE\tPOD\tOWNER\tMESH\tPROXY\tVERSION\tREQUESTS\tLIMITS")
	for _, p := range pods {
		proxy, version, req, lim := "-", "-", "-", "-"
		switch {
		case p.Proxy != nil:
			proxy = p.Proxy.Container
			if p.Proxy.Native {
				proxy += " (native sidecar)"
			}
			version, req, lim = dash(p.Proxy.Version), resources(p.Proxy.Requests), resources(p.Proxy.Limits)
		case p.Ambient:
			proxy = "ambient"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Namespace, p.Name, dash(p.Owner), dash(p.Mesh), proxy, version, req, lim)
	}
	for _, d := range s.Unreadable {
		fmt.Fprintf(tw, "unreadable: %s\n", d)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return deniedError(s)
}

func resources(m map[string]string) string {
	if len(m) == 0 {
		return "-"
	}
	var parts []string
	for _, k := range []string{"cpu", "memory"} {
		if v, ok := m[k]; ok {
			parts = append(parts, k+"="+v)
		}
	}
	return strings.Join(parts, ",")
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
