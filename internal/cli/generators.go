package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/meshperf/meshperf/loadgen"
)

func newGeneratorsCmd(stdio IO) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "generators",
		Short: "List the load generators a profile may name, whether each runs here, and what it can do",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			type row struct {
				Name         string                `json:"name"`
				Available    bool                  `json:"available"`
				Why          string                `json:"why,omitempty"`
				Version      string                `json:"version,omitempty"`
				Description  string                `json:"description"`
				Capabilities *loadgen.Capabilities `json:"capabilities,omitempty"`
			}
			var rows []row
			for _, m := range loadgen.Modules() {
				r := row{Name: m.Name, Description: m.Description}
				g := m.New(Version)
				r.Available, r.Why = loadgen.Available(g)
				if r.Available {
					r.Version = g.Info().Version
				}
				if d, ok := g.(loadgen.Describer); ok {
					c := d.Capabilities()
					r.Capabilities = &c
				}
				rows = append(rows, r)
			}
			if output == "json" {
				return writeJSON(stdio.Out, rows)
			}
			tw := tabwriter.NewWriter(stdio.Out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tHERE\tVERSION\tLOOP\tPROTOCOLS\tFIDELITY\tCORRECTED")
			for _, r := range rows {
				here := "yes"
				if !r.Available {
					here = "no (" + r.Why + ")"
				}
				loop, protos, fid, co := "", "", "", ""
				if c := r.Capabilities; c != nil {
					var l []string
					if c.OpenLoop {
						l = append(l, "open")
					}
					if c.ClosedLoop {
						l = append(l, "closed")
					}
					loop = strings.Join(l, "+")
					protos = strings.Join(c.Protocols, ",")
					if len(c.HTTPVersions) > 0 {
						protos += " (" + strings.Join(c.HTTPVersions, ",") + ")"
					}
					fid = c.Fidelity
					co = fmt.Sprint(c.CorrectsCoordinatedOmission)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, here, dash(r.Version), loop, protos, fid, co)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}
