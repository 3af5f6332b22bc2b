package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/meshperf/meshperf/internal/report"
	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/store"
)

func newResultCmd(stdio IO, g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "result",
		Short: "List, show, compare, export and import stored results",
	}
	cmd.AddCommand(newResultListCmd(stdio, g), newResultShowCmd(stdio, g), newResultDeleteCmd(stdio, g),
		newResultExportCmd(stdio, g), newResultImportCmd(stdio, g), newResultCompareCmd(stdio, g))
	return cmd
}

type resultListOptions struct {
	profile, generator, target, since, until, cursor, output string
	labels                                                   []string
	limit                                                    int
}

func newResultListCmd(stdio IO, g *globalOptions) *cobra.Command {
	o := &resultListOptions{}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List stored results, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := store.ResultFilter{Generator: o.generator, Target: o.target, Limit: o.limit, Cursor: o.cursor}
			var err error
			if f.Labels, err = parseLabels(o.labels); err != nil {
				return err
			}
			if f.Since, err = parseWhen("--since", o.since); err != nil {
				return err
			}
			if f.Until, err = parseWhen("--until", o.until); err != nil {
				return err
			}
			if o.limit < 1 || o.limit > 1000 {
				return usageErrorf("--limit: want 1 to 1000, not %d", o.limit)
			}
			if err := checkOutput(o.output, "text", "json"); err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			if c != nil {
				page, err := c.ListResults(cmd.Context(), o.query(f))
				if err != nil {
					return apiError(c, err)
				}
				return printResults(stdio, page, o.output)
			}
			st, err := g.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			if o.profile != "" {
				p, err := st.GetProfile(cmd.Context(), o.profile)
				if err != nil {
					return notFound(err, "profile", o.profile)
				}
				f.ProfileID = p.ID
			}
			page, err := st.ListResults(cmd.Context(), f)
			if err != nil {
				return err
			}
			return printResults(stdio, page, o.output)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.profile, "profile", "", "results of this profile (name or id)")
	fl.StringArrayVar(&o.labels, "label", nil, "label key=value the result must have (repeatable)")
	fl.StringVar(&o.since, "since", "", "started at or after: RFC 3339 time, date, or a duration ago (24h)")
	fl.StringVar(&o.until, "until", "", "started before: RFC 3339 time, date, or a duration ago")
	fl.StringVar(&o.generator, "generator", "", "made by this load generator")
	fl.StringVar(&o.target, "target", "", "with this target URL")
	fl.IntVar(&o.limit, "limit", 50, "results per page")
	fl.StringVar(&o.cursor, "cursor", "", "continue from the page before (printed at its end)")
	fl.StringVarP(&o.output, "output", "o", "text", "text or json")
	return cmd
}

// query is the API's form of the filter, for a server.
func (o *resultListOptions) query(f store.ResultFilter) url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("profile", o.profile)
	set("generator", f.Generator)
	set("target", f.Target)
	set("cursor", f.Cursor)
	q.Set("limit", strconv.Itoa(f.Limit))
	if !f.Since.IsZero() {
		q.Set("since", f.Since.UTC().Format(time.RFC3339Nano))
	}
	if !f.Until.IsZero() {
		q.Set("until", f.Until.UTC().Format(time.RFC3339Nano))
	}
	for _, l := range o.labels {
		q.Add("label", l)
	}
	return q
}

// printResults writes a page of results as a table or JSON.
func printResults(stdio IO, page *store.Page, output string) error {
	if output == "json" {
		return writeJSON(stdio.Out, page)
	}
	if len(page.Results) == 0 {
		fmt.Fprintln(stdio.Err, "no results")
		return nil
	}
	tw := tabwriter.NewWriter(stdio.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTARTED\tNAME\tTARGET\tGENERATOR\tRPS\tP50\tP99\tERRORS")
	for _, r := range page.Results {
		rate := fmt.Sprintf("%.0f", r.AchievedRPS)
		if r.RequestedRPS > 0 {
			rate += fmt.Sprintf("/%.0f", r.RequestedRPS)
		}
		// A stored 0 is no measurement (no latency is 0): shown as such.
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.2f%%\n", r.ID, r.StartTime.Local().Format("2006-01-02 15:04:05"),
			dash(r.Name), r.Target, r.Generator, rate, report.Ms(r.P50Ms, r.P50Ms > 0), report.Ms(r.P99Ms, r.P99Ms > 0), r.ErrorRate*100)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if page.Next != "" {
		fmt.Fprintf(stdio.Err, "more: meshperf result list --cursor %s\n", page.Next)
	}
	return nil
}

// parseWhen reads a time: RFC 3339, a date, or a duration before now.
func parseWhen(flag, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, time.Local); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return time.Now().Add(-d), nil
	}
	return time.Time{}, usageErrorf("%s: %q is not a time (2026-01-02T15:04:05Z, 2026-01-02, or a duration ago such as 24h)", flag, s)
}

func dash(s string) string {
	if s == "" {
		return report.NoData
	}
	return s
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newResultShowCmd(stdio IO, g *globalOptions) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show a stored result (an unambiguous prefix of its id will do)",
		Args:  exactArgs(1, "result show: give the result's id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			r, err := loadResult(cmd, g, args[0])
			if err != nil {
				return err
			}
			if output == "json" {
				return report.JSON(stdio.Out, r)
			}
			fmt.Fprintf(stdio.Out, "result %s, started %s\n", r.ID, r.StartTime.Local().Format("2006-01-02 15:04:05"))
			return report.Text(stdio.Out, r, nil)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}

func loadResult(cmd *cobra.Command, g *globalOptions, id string) (*spec.Result, error) {
	c, err := g.client()
	if err != nil {
		return nil, err
	}
	if c != nil {
		r, err := c.GetResult(cmd.Context(), id)
		if err != nil {
			return nil, apiError(c, err)
		}
		return r, nil
	}
	st, err := g.openStore(cmd.Context())
	if err != nil {
		return nil, err
	}
	defer st.Close()
	sr, err := st.GetResult(cmd.Context(), id)
	if err != nil {
		return nil, notFound(err, "result", id)
	}
	return sr.Result, nil
}

func newResultDeleteCmd(stdio IO, g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "delete ID...",
		Short: "Delete stored results",
		Args:  minArgs(1, "result delete: give the result's id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if c, err := g.client(); err != nil {
				return err
			} else if c != nil {
				for _, id := range args {
					if err := c.DeleteResult(cmd.Context(), id); err != nil {
						return apiError(c, err)
					}
					fmt.Fprintf(stdio.Out, "result %s deleted\n", id)
				}
				return nil
			}
			st, err := g.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			for _, id := range args {
				if err := st.DeleteResult(cmd.Context(), id); err != nil {
					return notFound(err, "result", id)
				}
				fmt.Fprintf(stdio.Out, "result %s deleted\n", id)
			}
			return nil
		},
	}
}

var exportFormats = []string{"json", "smp", "smp-strict", "fortio", "csv", "timeline-csv"}

func newResultExportCmd(stdio IO, g *globalOptions) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "export ID...",
		Short: "Write stored results as meshperf JSON, SMP YAML, fortio JSON or CSV",
		Args:  minArgs(1, "result export: give the result's id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(format, exportFormats...); err != nil {
				return err
			}
			if len(args) > 1 && format != "csv" {
				return usageErrorf("result export: several results only as --format csv (one row each)")
			}
			var rs []*spec.Result
			for _, id := range args {
				r, err := loadResult(cmd, g, id)
				if err != nil {
					return err
				}
				rs = append(rs, r)
			}
			return exportResult(stdio.Out, rs, format)
		},
	}
	cmd.Flags().StringVar(&format, "format", "json", "json, smp (SMP with meshperf's extension block), smp-strict (only the official SMP proto's fields, protobuf JSON), fortio, csv or timeline-csv")
	return cmd
}

func exportResult(w io.Writer, rs []*spec.Result, format string) error {
	switch format {
	case "json":
		return report.JSON(w, rs[0])
	case "csv":
		return report.CSV(w, rs)
	case "timeline-csv":
		return report.TimelineCSV(w, rs[0])
	}
	var b []byte
	var err error
	switch format {
	case "smp":
		b, err = report.SMPResult(rs[0], report.SMPMeta{ProfileID: rs[0].ProfileID})
	case "smp-strict":
		b, err = report.SMPResultStrict(rs[0], report.SMPMeta{ProfileID: rs[0].ProfileID})
	case "fortio":
		b, err = report.FortioJSON(rs[0])
	}
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

func newResultImportCmd(stdio IO, g *globalOptions) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Store a result from a file: meshperf JSON, SMP YAML/JSON, fortio or Nighthawk fortio-format JSON, a Meshery result",
		Args:  exactArgs(1, "result import: give the file (- for standard input)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := g.notRemote("result import"); err != nil {
				return err
			}
			var data []byte
			var err error
			if args[0] == "-" {
				data, err = io.ReadAll(io.LimitReader(stdio.In, 256<<20))
			} else {
				data, err = readFileLimited(args[0], 256<<20)
			}
			if err != nil {
				return usageErrorf("result import: %v", err)
			}
			r, err := parseResultFile(data, format)
			if err != nil {
				return usageErrorf("%s: %v", args[0], err)
			}
			st, err := g.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			// An import is a new record: a file exported from a store may
			// carry an id that store already has.
			if r.ID != "" {
				r.Notes = append(r.Notes, fmt.Sprintf("imported from %s, where its id was %s", args[0], r.ID))
				r.ID = ""
			}
			id, err := st.SaveResult(cmd.Context(), r, store.ResultRef{})
			if err != nil {
				return err
			}
			fmt.Fprintf(stdio.Out, "imported a result of %s as %s (%s histogram)\n", r.Generator, id, r.Generator.Fidelity)
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "auto", "auto, json (meshperf), smp, fortio (also Nighthawk's fortio format) or meshery (a result Meshery stored)")
	return cmd
}

// parseResultFile reads a result in any format meshperf knows, detecting
// which unless told (report.Import).
func parseResultFile(data []byte, format string) (*spec.Result, error) {
	if !slices.Contains(report.ImportFormats, format) {
		return nil, usageErrorf("--format: want %s, not %q", strings.Join(report.ImportFormats, ", "), format)
	}
	return report.Import(data, format)
}

func newResultCompareCmd(stdio IO, g *globalOptions) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "compare A B [C...]",
		Short: "Compare results side by side, against the first",
		Long: `Compare two or more results: each percentile, the achieved rate and the error
rate, with the difference and the ratio against the first. Runs that are not
comparable (different rate, connections, target or generator) are flagged.`,
		Args: minArgs(2, "result compare: give two or more result ids"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			var rs []*spec.Result
			for _, id := range args {
				var r *spec.Result
				var err error
				if _, statErr := os.Stat(id); statErr == nil && strings.Contains(id, ".") {
					r, err = readResultFile(id)
				} else {
					r, err = loadResult(cmd, g, id)
				}
				if err != nil {
					return err
				}
				rs = append(rs, r)
			}
			c, err := report.Compare(rs)
			if err != nil {
				return err
			}
			if output == "json" {
				return writeJSON(stdio.Out, c)
			}
			return c.Text(stdio.Out)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}

func readResultFile(path string) (*spec.Result, error) {
	data, err := readFileLimited(path, 256<<20)
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	r, err := parseResultFile(data, "auto")
	if err != nil {
		return nil, usageErrorf("%s: %v", path, err)
	}
	return r, nil
}
