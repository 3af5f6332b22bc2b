package cli

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/meshperf/meshperf/internal/design"
	"github.com/meshperf/meshperf/internal/design/compose"
	"github.com/meshperf/meshperf/internal/design/helmchart"
	"github.com/meshperf/meshperf/internal/design/sample"
	"github.com/meshperf/meshperf/internal/echo"
	"github.com/meshperf/meshperf/store"
)

func newDesignCmd(stdio IO, g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "design",
		Short: "Designs: named, versioned sets of Kubernetes resources to put on a cluster and take off again",
		Long: `A design is a named set of Kubernetes resources, imported from manifests,
Docker Compose files or Helm charts and stored with every revision in the
meshperf store. validate, diff, apply and delete put it on the cluster of
your kubeconfig and take it off again. See docs/designs.md.`,
	}
	cmd.AddCommand(newDesignImportCmd(stdio, g), newDesignListCmd(stdio, g), newDesignShowCmd(stdio, g),
		newDesignExportCmd(stdio, g), newDesignRemoveCmd(stdio, g))
	for _, verb := range []string{"validate", "diff", "apply", "delete"} {
		cmd.AddCommand(newDesignClusterCmd(stdio, g, verb))
	}
	return cmd
}

type importFlags struct {
	manifests []string
	compose   string
	env       []string
	chart     string
	release   string
	values    string
	repo      string
	version   string
	document  string
	namespace string
	labels    []string
	sample    bool
	sampleOpt sample.Options
}

func newDesignImportCmd(stdio IO, g *globalOptions) *cobra.Command {
	var f importFlags
	cmd := &cobra.Command{
		Use:   "import NAME",
		Short: "Store a design from manifests (-f), a Compose file (--compose), a Helm chart (--chart) or a design document (--design)",
		Long: `Import reads the files named, converts them and stores the result as design
NAME (a new revision when NAME exists). Sources can be combined.

  -f FILE          Kubernetes manifests, multi-document YAML or JSON (repeat -f)
  --compose FILE   a Docker Compose file; services become Deployments and
                   Services, volumes PersistentVolumeClaims, configs
                   ConfigMaps; what is not converted is listed, with why
  --chart PATH     a Helm chart directory or packaged chart (.tgz), rendered
                   with --release, --namespace and --values (--version V,
                   if given, must be the chart's)
  --chart NAME --repo URL --version V
                   the chart NAME from the chart repository at URL (http or
                   https, its index.yaml): V is a version, or a semver
                   constraint (^1.2) for the newest that meets it; the
                   archive is downloaded (bounded, digest checked when the
                   index gives one), rendered as above, not kept on disk;
                   the design records URL, the archive, version and digest
  --design FILE    a design document written by design export --format design`,
		Args: exactArgs(1, "design import needs the design's name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := buildDesign(cmd.Context(), args[0], f)
			if err != nil {
				return err
			}
			labels, err := parseLabels(f.labels)
			if err != nil {
				return err
			}
			st, err := g.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			sd, err := saveDesign(cmd.Context(), st, d, labels)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdio.Out, "design %s revision %d: %d resources", sd.Name, sd.Revision, len(d.Resources))
			if len(d.Charts) > 0 {
				fmt.Fprintf(stdio.Out, " (%d from charts)", countFromCharts(d))
			}
			fmt.Fprintln(stdio.Out)
			if len(d.Report) > 0 {
				fmt.Fprintf(stdio.Out, "not converted or changed (%d):\n", len(d.Report))
				for _, n := range d.Report {
					fmt.Fprintf(stdio.Out, "  %s\n", n)
				}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&f.manifests, "file", "f", nil, "Kubernetes manifests (YAML or JSON, multi-document); repeatable")
	fl.StringVar(&f.compose, "compose", "", "a Docker Compose file to convert")
	fl.StringArrayVar(&f.env, "env", nil, "KEY=VALUE for the Compose file's ${KEY} (this process's environment is not read); repeatable")
	fl.StringVar(&f.chart, "chart", "", "a Helm chart directory or packaged chart (.tgz); with --repo, the chart's name in the repository")
	fl.StringVar(&f.release, "release", "", "the chart's release name (default: the design's name)")
	fl.StringVar(&f.values, "values", "", "a values file for the chart")
	fl.StringVar(&f.repo, "repo", "", "a chart repository URL (http or https) to fetch --chart NAME --version V from")
	fl.StringVar(&f.version, "version", "", "the chart version (with --repo: a version or a semver constraint; required)")
	fl.StringVar(&f.document, "design", "", "a design document (from design export --format design)")
	fl.StringVarP(&f.namespace, "namespace", "n", "", "the namespace of resources that name none (default: at apply, the kubeconfig's)")
	fl.StringArrayVar(&f.labels, "label", nil, "key=value label of the design; repeatable")
	fl.BoolVar(&f.sample, "sample", false, "the sample application: echo servers, a front calling --sample-fanout backends, the first calling a leaf")
	fl.IntVar(&f.sampleOpt.FanOut, "sample-fanout", 2, "backends the sample's front calls")
	fl.StringVar(&f.sampleOpt.Delay, "sample-delay", "0", "each sample service's own delay (an echo --delay)")
	fl.IntVar(&f.sampleOpt.Size, "sample-size", 1024, "each sample service's response size in bytes")
	fl.IntVar(&f.sampleOpt.Replicas, "sample-replicas", 1, "replicas of each sample service")
	fl.StringVar(&f.sampleOpt.Image, "sample-image", "", "the meshperf image the sample runs (default ghcr.io/meshperf/meshperf:latest)")
	fl.BoolVar(&f.sampleOpt.ServiceEnv, "sample-service-env", false, "the sample's services call each other by the addresses in Kubernetes' service environment variables, not by name (for clusters without DNS)")
	return cmd
}

// buildDesign reads the sources f names into one design.
func buildDesign(ctx context.Context, name string, f importFlags) (*design.Design, error) {
	if len(f.manifests) == 0 && f.compose == "" && f.chart == "" && f.document == "" && !f.sample {
		return nil, usageErrorf("design import %s: name a source: -f FILE, --compose FILE, --chart PATH, --design FILE or --sample", name)
	}
	var d *design.Design
	if f.document != "" {
		b, err := readFileLimited(f.document, design.MaxDesignBytes+1)
		if err != nil {
			return nil, usageErrorf("--design: %v", err)
		}
		if d, err = design.Unmarshal(b); err != nil {
			return nil, &UsageError{Err: fmt.Errorf("--design %s: %w", f.document, err)}
		}
		d.Name = name
	} else {
		d = design.New(name, f.namespace)
	}
	if f.namespace != "" {
		d.Namespace = f.namespace
	}
	if f.sample {
		o := f.sampleOpt
		o.Name, o.Namespace = name, d.Namespace
		if _, err := echo.ParseDelay(o.Delay); err != nil {
			return nil, usageErrorf("--sample-delay: %v", err)
		}
		sd, err := sample.Design(o)
		if err != nil {
			return nil, &UsageError{Err: err}
		}
		if err := d.Add(sd.Resources...); err != nil {
			return nil, &UsageError{Err: err}
		}
	}
	for _, path := range f.manifests {
		b, err := readFileLimited(path, design.MaxManifestBytes+1)
		if err != nil {
			return nil, usageErrorf("-f: %v", err)
		}
		rs, err := design.ParseManifests(path, b)
		if err != nil {
			return nil, &UsageError{Err: err}
		}
		if err := d.Add(rs...); err != nil {
			return nil, &UsageError{Err: err}
		}
	}
	if f.compose != "" {
		env := map[string]string{}
		for _, e := range f.env {
			k, v, ok := strings.Cut(e, "=")
			if !ok || k == "" {
				return nil, usageErrorf("--env %q: want KEY=VALUE", e)
			}
			env[k] = v
		}
		cd, err := compose.Convert(ctx, f.compose, compose.Options{Name: name, Namespace: d.Namespace, Env: env})
		if err != nil {
			return nil, &UsageError{Err: fmt.Errorf("--compose: %w", err)}
		}
		if err := d.Add(cd.Resources...); err != nil {
			return nil, &UsageError{Err: err}
		}
		d.Report = append(d.Report, cd.Report...)
	}
	if f.chart != "" {
		var values map[string]any
		if f.values != "" {
			var err error
			if values, err = helmchart.ReadValues(f.values); err != nil {
				return nil, &UsageError{Err: err}
			}
		}
		release := f.release
		if release == "" {
			release = name
		}
		ns := d.Namespace
		if ns == "" {
			ns = "default"
		}
		rs, ref, notes, err := renderChart(ctx, f, helmchart.Options{Release: release, Namespace: ns, Values: values})
		if err != nil {
			return nil, err
		}
		if err := d.Add(rs...); err != nil {
			return nil, &UsageError{Err: err}
		}
		d.Charts = append(d.Charts, ref)
		d.Report = append(d.Report, notes...)
	} else if f.values != "" || f.release != "" || f.repo != "" || f.version != "" {
		return nil, usageErrorf("--values, --release, --repo and --version go with --chart")
	}
	if err := d.Validate(); err != nil {
		return nil, &UsageError{Err: err}
	}
	return d, nil
}

// renderChart renders f.chart: a local chart, or with f.repo one fetched
// from a chart repository. A repository that did not answer (or a
// cancelled fetch) is a failure; anything else wrong is the input's.
func renderChart(ctx context.Context, f importFlags, o helmchart.Options) ([]design.Resource, design.Chart, []design.Note, error) {
	if f.repo == "" {
		o.Path = f.chart
		rs, ref, notes, err := helmchart.Render(o)
		if err != nil {
			return nil, ref, nil, &UsageError{Err: err}
		}
		if f.version != "" && ref.Version != f.version {
			return nil, ref, nil, usageErrorf("--chart %s is %s version %s, not --version %s", f.chart, ref.Chart, ref.Version, f.version)
		}
		return rs, ref, notes, nil
	}
	if f.version == "" {
		return nil, design.Chart{}, nil, usageErrorf("--repo %s: --version V is required (a version, or a semver constraint such as ^1.2)", f.repo)
	}
	rs, ref, notes, err := helmchart.RenderRepository(ctx, helmchart.Fetcher{}, helmchart.Repository{URL: f.repo, Chart: f.chart, Version: f.version}, o)
	if err == nil {
		return rs, ref, notes, nil
	}
	err = fmt.Errorf("--chart %s --repo %s --version %s: %w", f.chart, f.repo, f.version, err)
	if _, ok := errors.AsType[*url.Error](err); ok || ctx.Err() != nil {
		return nil, ref, nil, err
	}
	return nil, ref, nil, &UsageError{Err: err}
}

func countFromCharts(d *design.Design) int {
	n := 0
	for _, r := range d.Resources {
		if strings.HasPrefix(r.Source, "chart ") {
			n++
		}
	}
	return n
}

func saveDesign(ctx context.Context, st store.Store, d *design.Design, labels map[string]string) (*store.Design, error) {
	body, err := d.Marshal()
	if err != nil {
		return nil, err
	}
	sd := &store.Design{Name: d.Name, Labels: labels, Body: body}
	if err := st.SaveDesign(ctx, sd); err != nil {
		return nil, fmt.Errorf("store design %s: %w", d.Name, err)
	}
	return sd, nil
}

// loadDesign reads a stored design, revision 0 meaning the latest.
func loadDesign(ctx context.Context, st store.Store, ref string, revision int) (*store.Design, *design.Design, error) {
	sd, err := st.GetDesign(ctx, ref, revision)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil, &NotFoundError{Kind: "design", Ref: ref, Hint: "meshperf design list shows the stored designs"}
		}
		return nil, nil, err
	}
	d, err := design.Unmarshal(sd.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("stored design %s revision %d: %w", sd.Name, sd.Revision, err)
	}
	return sd, d, nil
}

// readDesign opens the store, reads a stored design (revision 0: the
// latest) and closes the store again.
func (g *globalOptions) readDesign(ctx context.Context, ref string, revision int) (*store.Design, *design.Design, error) {
	st, err := g.openStore(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer st.Close()
	return loadDesign(ctx, st, ref, revision)
}

func newDesignListCmd(stdio IO, g *globalOptions) *cobra.Command {
	var name, output string
	var labels []string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List stored designs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output, "table", "json"); err != nil {
				return err
			}
			lm, err := parseLabels(labels)
			if err != nil {
				return err
			}
			st, err := g.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			ds, err := st.ListDesigns(cmd.Context(), store.DesignFilter{Name: name, Labels: lm})
			if err != nil {
				return err
			}
			if output == "json" {
				type view struct {
					ID       string            `json:"id"`
					Name     string            `json:"name"`
					Revision int               `json:"revision"`
					Labels   map[string]string `json:"labels,omitempty"`
					Updated  string            `json:"updated_at"`
				}
				out := []view{}
				for _, d := range ds {
					out = append(out, view{d.ID, d.Name, d.Revision, d.Labels, d.UpdatedAt.UTC().Format("2006-01-02T15:04:05Z")})
				}
				return writeJSON(stdio.Out, out)
			}
			tw := tabwriter.NewWriter(stdio.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tREVISION\tUPDATED\tLABELS")
			for _, d := range ds {
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", d.Name, d.Revision, d.UpdatedAt.UTC().Format("2006-01-02 15:04"), formatLabels(d.Labels))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "only designs whose name contains this")
	cmd.Flags().StringArrayVar(&labels, "label", nil, "only designs with this key=value label; repeatable")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	return cmd
}

func newDesignShowCmd(stdio IO, g *globalOptions) *cobra.Command {
	var revision int
	var output string
	cmd := &cobra.Command{
		Use:   "show NAME",
		Short: "Show a design: its resources, where each came from, their references, and the import report",
		Args:  exactArgs(1, "design show needs the design's name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			sd, d, err := g.readDesign(cmd.Context(), args[0], revision)
			if err != nil {
				return err
			}
			graph := design.BuildGraph(d.Resources, d.Namespace)
			if output == "json" {
				return writeJSON(stdio.Out, map[string]any{"name": sd.Name, "revision": sd.Revision, "labels": sd.Labels,
					"namespace": d.Namespace, "design": d, "graph": graph})
			}
			w := stdio.Out
			fmt.Fprintf(w, "design %s revision %d (stored %s)\n", sd.Name, sd.Revision, sd.UpdatedAt.UTC().Format("2006-01-02 15:04:05"))
			if d.Namespace != "" {
				fmt.Fprintf(w, "namespace: %s\n", d.Namespace)
			}
			if len(sd.Labels) > 0 {
				fmt.Fprintf(w, "labels: %s\n", formatLabels(sd.Labels))
			}
			fmt.Fprintf(w, "resources (%d, in apply order):\n", len(d.Resources))
			for _, r := range design.ApplyOrder(d.Resources) {
				fmt.Fprintf(w, "  %-50s %s\n", r.Ref(), r.Source)
			}
			for _, c := range d.Charts {
				fmt.Fprintf(w, "chart: release %s: %s %s from %s", c.Release, c.Chart, c.Version, c.From)
				if c.Repo != "" {
					fmt.Fprintf(w, " (repository %s)", c.Repo)
				}
				if c.Digest != "" {
					fmt.Fprintf(w, " %s", c.Digest)
				}
				fmt.Fprintln(w)
			}
			if len(graph.Edges) > 0 {
				fmt.Fprintln(w, "references:")
				for _, e := range graph.Edges {
					fmt.Fprintf(w, "  %s -> %s (%s)\n", e.From, e.To, e.Why)
				}
			}
			if len(graph.Dangling) > 0 {
				fmt.Fprintln(w, "references outside the design:")
				for _, e := range graph.Dangling {
					fmt.Fprintf(w, "  %s -> %s (%s)\n", e.From, e.To, e.Why)
				}
			}
			if len(d.Report) > 0 {
				fmt.Fprintln(w, "import report:")
				for _, n := range d.Report {
					fmt.Fprintf(w, "  %s\n", n)
				}
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&revision, "revision", 0, "a past revision (default: the latest)")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}

func newDesignExportCmd(stdio IO, g *globalOptions) *cobra.Command {
	var revision int
	var format string
	cmd := &cobra.Command{
		Use:   "export NAME",
		Short: "Write a design's resources as multi-document YAML (kubectl apply -f -), or the design document",
		Args:  exactArgs(1, "design export needs the design's name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(format, "manifests", "design"); err != nil {
				return err
			}
			_, d, err := g.readDesign(cmd.Context(), args[0], revision)
			if err != nil {
				return err
			}
			if format == "design" {
				b, err := yaml.Marshal(d)
				if err != nil {
					return err
				}
				_, err = stdio.Out.Write(b)
				return err
			}
			return design.WriteManifests(stdio.Out, d.Resources)
		},
	}
	cmd.Flags().IntVar(&revision, "revision", 0, "a past revision (default: the latest)")
	cmd.Flags().StringVar(&format, "format", "manifests", "manifests or design")
	return cmd
}

func newDesignRemoveCmd(stdio IO, g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "remove NAME",
		Short: "Remove a design and its revisions from the store (not from the cluster: that is design delete)",
		Args:  exactArgs(1, "design remove needs the design's name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := g.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.DeleteDesign(cmd.Context(), args[0]); err != nil {
				if errors.Is(err, store.ErrNotFound) {
					return &NotFoundError{Kind: "design", Ref: args[0]}
				}
				return err
			}
			fmt.Fprintf(stdio.Out, "design %s removed from the store\n", args[0])
			return nil
		},
	}
}
