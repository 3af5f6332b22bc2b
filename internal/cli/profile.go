package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/meshperf/meshperf/internal/api"
	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/store"
)

func newProfileCmd(stdio IO, g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "profile",
		Short: "Write, store and share test profiles (SMP format)",
		Long: `Profiles are tests in the Service Mesh Performance (SMP) format, YAML or JSON,
runnable unchanged with meshperf run -f FILE or meshperf run --profile NAME.
Stored profiles keep every revision.`,
	}
	cmd.AddCommand(newProfileInitCmd(stdio), newProfileApplyCmd(stdio, g), newProfileListCmd(stdio, g),
		newProfileShowCmd(stdio, g), newProfileDeleteCmd(stdio, g), newProfileExportCmd(stdio, g))
	return cmd
}

func newProfileInitCmd(stdio IO) *cobra.Command {
	var out string
	var force bool
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a commented example profile",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if out == "" || out == "-" {
				_, err := io.WriteString(stdio.Out, spec.ProfileExample())
				return err
			}
			flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
			if force {
				flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
			}
			f, err := os.OpenFile(out, flags, 0o644)
			if errors.Is(err, os.ErrExist) {
				return usageErrorf("%s exists; use --force to overwrite it", out)
			}
			if err != nil {
				return err
			}
			if _, err := io.WriteString(f, spec.ProfileExample()); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			fmt.Fprintf(stdio.Err, "wrote %s; run it with: meshperf run -f %s\n", out, out)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "file to write (default: standard output)")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite the file if it exists")
	return cmd
}

// readProfile reads, parses and validates a profile file ("-" for stdin).
// Fields meshperf does not know (a misspelt conections: would otherwise run
// with the default) are errors, unless lenient or the profile allows them
// (meshperf.allow_unknown_fields): then they are warnings on stderr.
// allowFlag names the flag that allows them, for the message.
func readProfile(stdio IO, path string, lenient bool, allowFlag string) (*spec.Profile, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(io.LimitReader(stdio.In, spec.MaxProfileSize+1))
	} else {
		data, err = readFileLimited(path, spec.MaxProfileSize+1)
	}
	if err != nil {
		return nil, usageErrorf("-f: %v", err)
	}
	p, warnings, err := spec.ParseProfile(data)
	if err == nil && len(warnings) > 0 && !lenient && !(p.Meshperf != nil && p.Meshperf.AllowUnknownFields) {
		var errs []error
		for _, w := range warnings {
			errs = append(errs, fmt.Errorf("%s: %w", path, spec.UnknownFieldError(w)))
		}
		errs = append(errs, fmt.Errorf("%s: fix the names above, or ignore fields meshperf does not know with %s (or meshperf: {allow_unknown_fields: true} in the profile)", path, allowFlag))
		return nil, &UsageError{Err: errors.Join(errs...)}
	}
	for _, w := range warnings {
		fmt.Fprintf(stdio.Err, "meshperf: warning: %s: %s\n", path, w)
	}
	if err != nil {
		return nil, usageErrorf("%s: %v", path, err)
	}
	if err := p.Validate(); err != nil {
		return nil, &UsageError{Err: prefixLines(path+": ", err)}
	}
	return p, nil
}

func readFileLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit))
}

// prefixLines puts prefix before every line of err's message.
func prefixLines(prefix string, err error) error {
	var errs []error
	for _, e := range unjoin(err) {
		errs = append(errs, fmt.Errorf("%s%w", prefix, e))
	}
	return errors.Join(errs...)
}

// applyProfile stores p: created if its name is new, a new revision if its
// content changed, left as is otherwise. It returns the stored profile.
func applyProfile(ctx context.Context, st store.ProfileStore, p *spec.Profile) (*store.Profile, bool, error) {
	if p.Name == "" {
		return nil, false, usageErrorf("a stored profile needs a name (the profile's name field)")
	}
	body, err := p.JSON()
	if err != nil {
		return nil, false, err
	}
	sp := &store.Profile{Name: p.Name, Labels: p.Labels, Body: body}
	old, err := st.GetProfile(ctx, p.Name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if err := st.CreateProfile(ctx, sp); err != nil {
			return nil, false, err
		}
		return sp, true, nil
	case err != nil:
		return nil, false, err
	case string(old.Body) == string(body) && labelsEqual(old.Labels, p.Labels):
		return old, false, nil
	}
	sp.ID = old.ID
	if err := st.UpdateProfile(ctx, sp); err != nil {
		return nil, false, err
	}
	return sp, true, nil
}

func labelsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func newProfileApplyCmd(stdio IO, g *globalOptions) *cobra.Command {
	var file string
	var lenient bool
	cmd := &cobra.Command{
		Use:   "apply -f FILE",
		Short: "Store a profile, or a new revision of it if it changed",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return usageErrorf("profile apply: give the profile file with -f FILE (or -f - for standard input)")
			}
			p, err := readProfile(stdio, file, lenient, "--lenient")
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			if c != nil {
				body, err := p.JSON()
				if err != nil {
					return err
				}
				v, err := c.ApplyProfile(cmd.Context(), body)
				if err != nil {
					return apiError(c, err)
				}
				fmt.Fprintf(stdio.Out, "profile %s applied on %s (id %s, revision %d)\n", v.Name, c.BaseURL(), v.ID, v.Revision)
				return nil
			}
			st, err := g.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			sp, changed, err := applyProfile(cmd.Context(), st, p)
			if err != nil {
				return err
			}
			state := "unchanged"
			if changed && sp.Revision == 1 {
				state = "created"
			} else if changed {
				state = "updated"
			}
			fmt.Fprintf(stdio.Out, "profile %s %s (id %s, revision %d)\n", sp.Name, state, sp.ID, sp.Revision)
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "profile file, YAML or JSON (- for standard input)")
	cmd.Flags().BoolVar(&lenient, "lenient", false, "store it even with fields meshperf does not know (warned about and left out); without it they are errors")
	return cmd
}

func newProfileListCmd(stdio IO, g *globalOptions) *cobra.Command {
	var name string
	var labels []string
	var output string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List stored profiles, by name and labels",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lm, err := parseLabels(labels)
			if err != nil {
				return err
			}
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			var ps []*store.Profile
			if c != nil {
				q := url.Values{}
				if name != "" {
					q.Set("name", name)
				}
				for _, l := range labels {
					q.Add("label", l)
				}
				vs, err := c.ListProfiles(cmd.Context(), q)
				if err != nil {
					return apiError(c, err)
				}
				for _, v := range vs {
					ps = append(ps, &store.Profile{ID: v.ID, Name: v.Name, Revision: v.Revision, Labels: v.Labels, CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt})
				}
			} else {
				st, err := g.openStore(cmd.Context())
				if err != nil {
					return err
				}
				defer st.Close()
				if ps, err = st.ListProfiles(cmd.Context(), store.ProfileFilter{Name: name, Labels: lm}); err != nil {
					return err
				}
			}
			if output == "json" {
				return writeJSON(stdio.Out, profileViews(ps))
			}
			if len(ps) == 0 {
				fmt.Fprintln(stdio.Err, "no profiles")
				return nil
			}
			tw := tabwriter.NewWriter(stdio.Out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tID\tREVISION\tUPDATED\tLABELS")
			for _, p := range ps {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", p.Name, p.ID, p.Revision, p.UpdatedAt.Local().Format("2006-01-02 15:04"), formatLabels(p.Labels))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "names containing this text")
	cmd.Flags().StringArrayVar(&labels, "label", nil, "label key=value the profile must have (repeatable)")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}

type profileView struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Revision int               `json:"revision"`
	Labels   map[string]string `json:"labels,omitempty"`
	Created  string            `json:"created_at"`
	Updated  string            `json:"updated_at"`
}

func profileViews(ps []*store.Profile) []profileView {
	out := []profileView{}
	for _, p := range ps {
		out = append(out, profileView{p.ID, p.Name, p.Revision, p.Labels, p.CreatedAt.UTC().Format("2006-01-02T15:04:05Z"), p.UpdatedAt.UTC().Format("2006-01-02T15:04:05Z")})
	}
	return out
}

func newProfileShowCmd(stdio IO, g *globalOptions) *cobra.Command {
	var revision int
	var history bool
	cmd := &cobra.Command{
		Use:   "show NAME|ID",
		Short: "Show a stored profile (or one of its revisions, or its history)",
		Args:  exactArgs(1, "profile show: give the profile's name or id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if history {
				revs, err := g.profileRevisions(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(stdio.Out, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "REVISION\tSAVED\tBYTES")
				for _, r := range revs {
					fmt.Fprintf(tw, "%d\t%s\t%d\n", r.Revision, r.UpdatedAt.Local().Format("2006-01-02 15:04:05"), len(r.Body))
				}
				return tw.Flush()
			}
			p, err := g.fetchProfile(cmd.Context(), args[0], revision)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdio.Out, "# profile %s, id %s, revision %d, saved %s\n", p.Name, p.ID, p.Revision, p.UpdatedAt.Local().Format("2006-01-02 15:04:05"))
			return writeProfile(stdio.Out, p, "yaml")
		},
	}
	cmd.Flags().IntVar(&revision, "revision", 0, "show this revision (default: the latest)")
	cmd.Flags().BoolVar(&history, "history", false, "list the revisions")
	return cmd
}

func getProfile(ctx context.Context, st store.ProfileStore, ref string, revision int) (*store.Profile, error) {
	var p *store.Profile
	var err error
	if revision > 0 {
		p, err = st.ProfileRevision(ctx, ref, revision)
	} else {
		p, err = st.GetProfile(ctx, ref)
	}
	if err != nil {
		err = notFound(err, "profile", ref)
		var nf *NotFoundError
		if errors.As(err, &nf) {
			nf.Hint = profileHint(ctx, st, ref)
		}
		return nil, err
	}
	return p, nil
}

// profileHint is "did you mean NAME?" for the stored profile nearest to a
// name not found, or the way to list them.
func profileHint(ctx context.Context, st store.ProfileStore, ref string) string {
	ps, err := st.ListProfiles(ctx, store.ProfileFilter{})
	if err != nil || len(ps) == 0 {
		return "meshperf profile list shows the stored ones"
	}
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Name
	}
	if s := spec.Nearest(ref, names); s != "" {
		return fmt.Sprintf("did you mean %q?", s)
	}
	return "meshperf profile list shows the stored ones"
}

// writeProfile writes a stored profile as YAML or JSON.
func writeProfile(w io.Writer, sp *store.Profile, format string) error {
	p, _, err := spec.ParseProfile(sp.Body)
	if err != nil {
		return fmt.Errorf("stored profile %s: %w", sp.Name, err)
	}
	p.ID = sp.ID
	var b []byte
	switch format {
	case "yaml", "smp":
		b, err = p.YAML()
	case "json":
		b, err = p.JSON()
	default:
		return usageErrorf("--format: want yaml or json, not %q", format)
	}
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

func newProfileExportCmd(stdio IO, g *globalOptions) *cobra.Command {
	var format string
	var revision int
	cmd := &cobra.Command{
		Use:   "export NAME|ID",
		Short: "Write a stored profile as an SMP file (YAML or JSON)",
		Args:  exactArgs(1, "profile export: give the profile's name or id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(format, "yaml", "json", "smp"); err != nil {
				return err
			}
			p, err := g.fetchProfile(cmd.Context(), args[0], revision)
			if err != nil {
				return err
			}
			return writeProfile(stdio.Out, p, format)
		},
	}
	cmd.Flags().StringVar(&format, "format", "yaml", "yaml (SMP) or json")
	cmd.Flags().IntVar(&revision, "revision", 0, "export this revision (default: the latest)")
	return cmd
}

func newProfileDeleteCmd(stdio IO, g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME|ID...",
		Short: "Delete stored profiles and their revisions (their results stay)",
		Args:  minArgs(1, "profile delete: give the profile's name or id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if c, err := g.client(); err != nil {
				return err
			} else if c != nil {
				for _, ref := range args {
					if err := c.DeleteProfile(cmd.Context(), ref); err != nil {
						return apiError(c, err)
					}
					fmt.Fprintf(stdio.Out, "profile %s deleted\n", ref)
				}
				return nil
			}
			st, err := g.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			for _, ref := range args {
				if err := st.DeleteProfile(cmd.Context(), ref); err != nil {
					return notFound(err, "profile", ref)
				}
				fmt.Fprintf(stdio.Out, "profile %s deleted\n", ref)
			}
			return nil
		},
	}
}

// notFound turns the store's ErrNotFound into a message naming what.
func notFound(err error, kind, ref string) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return &NotFoundError{Kind: kind, Ref: ref}
	case errors.Is(err, store.ErrInvalid):
		return &UsageError{Err: err} // e.g. an ambiguous id prefix
	}
	return err
}

// NotFoundError is a profile or result that is not in the store.
type NotFoundError struct {
	Kind, Ref string
	// Hint, when set, follows the message: "did you mean ...?".
	Hint string
}

func (e *NotFoundError) Error() string {
	msg := fmt.Sprintf("no %s %q in the store", e.Kind, e.Ref)
	if e.Hint != "" {
		msg += ": " + e.Hint
	}
	return msg
}

func parseLabels(ls []string) (map[string]string, error) {
	m, err := store.ParseLabels(ls)
	if err != nil {
		return nil, usageErrorf("--%v", err)
	}
	return m, nil
}

func formatLabels(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, ",")
}

func checkOutput(v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return usageErrorf("unknown format %q (want %s)", v, strings.Join(allowed, ", "))
}

func exactArgs(n int, msg string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != n {
			return usageErrorf("%s", msg)
		}
		return nil
	}
}

func minArgs(n int, msg string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) < n {
			return usageErrorf("%s", msg)
		}
		return nil
	}
}

// fetchProfile gets a stored profile from the server commands go to, or
// from the local store.
func (g *globalOptions) fetchProfile(ctx context.Context, ref string, revision int) (*store.Profile, error) {
	c, err := g.client()
	if err != nil {
		return nil, err
	}
	if c == nil {
		st, err := g.openStore(ctx)
		if err != nil {
			return nil, err
		}
		defer st.Close()
		return getProfile(ctx, st, ref, revision)
	}
	v, err := c.GetProfile(ctx, ref, revision)
	if err != nil {
		return nil, apiError(c, err)
	}
	return viewToProfile(v)
}

// profileRevisions lists a profile's revisions from the server or the local
// store.
func (g *globalOptions) profileRevisions(ctx context.Context, ref string) ([]*store.Profile, error) {
	c, err := g.client()
	if err != nil {
		return nil, err
	}
	if c == nil {
		st, err := g.openStore(ctx)
		if err != nil {
			return nil, err
		}
		defer st.Close()
		revs, err := st.ProfileRevisions(ctx, ref)
		if err != nil {
			return nil, notFound(err, "profile", ref)
		}
		return revs, nil
	}
	vs, err := c.ProfileRevisions(ctx, ref)
	if err != nil {
		return nil, apiError(c, err)
	}
	var out []*store.Profile
	for i := range vs {
		p := &store.Profile{ID: vs[i].ID, Name: vs[i].Name, Revision: vs[i].Revision, Labels: vs[i].Labels, CreatedAt: vs[i].CreatedAt, UpdatedAt: vs[i].UpdatedAt}
		out = append(out, p)
	}
	return out, nil
}

func viewToProfile(v *api.ProfileView) (*store.Profile, error) {
	p := &store.Profile{ID: v.ID, Name: v.Name, Revision: v.Revision, Labels: v.Labels, CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt}
	if v.Profile != nil {
		b, err := v.Profile.JSON()
		if err != nil {
			return nil, err
		}
		p.Body = b
	}
	return p, nil
}
