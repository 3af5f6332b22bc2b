package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/meshperf/meshperf/internal/design/lifecycle"
)

func newMeshCmd(stdio IO, g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mesh",
		Short: "Install and remove a service mesh from its Helm chart, as a stored design",
		Long: `mesh install renders the mesh's Helm chart (a directory or packaged chart,
or --chart NAME fetched from the mesh's chart repository --repo URL, see
docs/designs.md) with your values file, stores it as the design mesh-NAME and applies it; mesh uninstall
deletes that design from the cluster. Installing again with other values
stores a new revision and applies the difference.`,
	}
	cmd.AddCommand(newMeshInstallCmd(stdio, g), newMeshUninstallCmd(stdio, g))
	return cmd
}

func newMeshInstallCmd(stdio IO, g *globalOptions) *cobra.Command {
	var f designKubeFlags
	var version, chart, values, release, repo string
	cmd := &cobra.Command{
		Use:   "install NAME --version V (--chart PATH | --chart CHART --repo URL)",
		Short: "Render a mesh's chart, store it as design mesh-NAME, apply it and wait until it is ready",
		Args:  exactArgs(1, "mesh install needs the mesh's name (istio, linkerd, ...)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if chart == "" || version == "" {
				return usageErrorf("mesh install %s: --chart and --version V are required (--chart PATH, or --chart NAME --repo URL: see docs/designs.md)", args[0])
			}
			name := "mesh-" + args[0]
			if f.namespace == "" {
				f.namespace = args[0] + "-system"
			}
			if release == "" {
				release = args[0]
			}
			d, err := buildDesign(cmd.Context(), name, importFlags{chart: chart, values: values, release: release, repo: repo, version: version, namespace: f.namespace})
			if err != nil {
				return err
			}
			version = d.Charts[0].Version // a constraint's answer, with --repo
			st, err := g.openStore(cmd.Context())
			if err != nil {
				return err
			}
			sd, err := saveDesign(cmd.Context(), st, d, map[string]string{"mesh": args[0], "version": version})
			st.Close()
			if err != nil {
				return err
			}
			fmt.Fprintf(stdio.Out, "design %s revision %d: %s %s, %d resources\n", sd.Name, sd.Revision, d.Charts[0].Chart, version, len(d.Resources))
			c, err := lifecycle.Connect(f.cfg)
			if err != nil {
				return err
			}
			return runDesignVerb(cmd.Context(), stdio, c, d, "apply", f)
		},
	}
	f.register(cmd, "apply")
	cmd.Flags().StringVar(&version, "version", "", "the chart version to install (a local chart's must be it; with --repo, a version or a semver constraint)")
	cmd.Flags().StringVar(&chart, "chart", "", "the mesh's chart: a directory or packaged chart (.tgz), or with --repo the chart's name")
	cmd.Flags().StringVar(&values, "values", "", "a values file for the chart")
	cmd.Flags().StringVar(&release, "release", "", "release name (default: the mesh's name)")
	cmd.Flags().StringVar(&repo, "repo", "", "the mesh's chart repository URL (http or https) to fetch --chart from")
	return cmd
}

func newMeshUninstallCmd(stdio IO, g *globalOptions) *cobra.Command {
	var f designKubeFlags
	cmd := &cobra.Command{
		Use:   "uninstall NAME",
		Short: "Delete the design mesh-NAME from the cluster and wait until it is gone",
		Args:  exactArgs(1, "mesh uninstall needs the mesh's name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return designOnCluster(cmd.Context(), stdio, g, "mesh-"+args[0], "delete", f)
		},
	}
	f.register(cmd, "delete")
	return cmd
}
