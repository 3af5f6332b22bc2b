// Package experiment runs experiments: the same test against several
// variants of a system (the service directly, the service through a proxy
// or a mesh...) over a sweep of rates and connection counts, each cell
// repeated, in an interleaved order so that drift of the machine favours no
// variant. Every cell is stored as a normal result labelled with the
// experiment, the variant, the sweep point and the repeat, so an
// interrupted experiment resumes with the cells not yet stored. The report
// puts each variant next to the baseline: added latency at each
// percentile, with the spread of the repeats and a flag when a difference
// is within the noise.
package experiment

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/meshperf/meshperf/spec"
)

// Limits on an experiment file.
const (
	MaxFileSize = 1 << 20
	MaxCells    = 10_000
	MaxRepeats  = 100
)

// File is an experiment file, as written (YAML or JSON).
type File struct {
	// Name identifies the experiment: running the file again resumes the
	// newest unfinished experiment of that name.
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
	// Profile is an SMP profile file (relative to the experiment file)
	// that variants without their own start from.
	Profile string `json:"profile,omitempty"`
	// Duration is the measured time of each cell, after Warmup; it
	// defaults to the profile's.
	Duration string `json:"duration,omitempty"`
	// Warmup runs first in each cell, outside its summary and its metrics
	// window (whole seconds).
	Warmup string `json:"warmup,omitempty"`
	// Cooldown is the end of each cell left out of its metrics window.
	Cooldown string `json:"cooldown,omitempty"`
	// Pause is an idle time between cells.
	Pause string `json:"pause,omitempty"`
	// Repeats is how many times each cell runs; 1 when left out.
	Repeats int `json:"repeats,omitempty"`
	// Baseline names the variant the others are compared with: "baseline"
	// if a variant has that name, else the first.
	Baseline string `json:"baseline,omitempty"`
	// RPS and Connections are the values of the dimension not swept. RPS
	// must be given here or in the sweep (0 is closed loop); Connections
	// defaults to 10.
	RPS         *float64            `json:"rps,omitempty"`
	Connections int                 `json:"connections,omitempty"`
	Variants    []Variant           `json:"variants"`
	Sweep       Sweep               `json:"sweep"`
	Metrics     *spec.MetricsConfig `json:"metrics,omitempty"`
	// Designs are stored designs applied to the kubeconfig's cluster
	// before the first cell (and waited for) and deleted after the last
	// (internal/cli/experiment_design.go, docs/designs.md).
	Designs []DesignRef `json:"designs,omitempty"`
}

// DesignRef names a stored design an experiment puts on the cluster (the
// same reference a profile's meshperf.designs holds).
type DesignRef = spec.DesignRef

// Variant is one version of the system under test.
type Variant struct {
	Name string `json:"name"`
	// Profile is an SMP profile file for this variant (relative to the
	// experiment file); the file's Profile when empty.
	Profile string `json:"profile,omitempty"`
	// Targets replace the endpoint URLs of every client of the profile.
	Targets []string `json:"targets,omitempty"`
}

// Sweep lists the rates and connection counts to run; every pair is a
// sweep point.
type Sweep struct {
	RPS         []float64 `json:"rps,omitempty"`
	Connections []int     `json:"connections,omitempty"`
}

// Definition is an experiment file with the profiles it names read in: all
// that is needed to run and report it, stored with the experiment.
type Definition struct {
	File File `json:"file"`
	// Profiles holds each variant's profile, by variant name; a variant
	// with none runs a plain GET of its targets.
	Profiles map[string]*spec.Profile `json:"profiles,omitempty"`
}

// FieldError is one problem of an experiment file, naming its path, e.g.
// "variants[1].targets[0]".
type FieldError = spec.FieldError

// Load reads, checks and resolves the experiment file at path: the
// profiles it names are read relative to its directory.
func Load(path string) (*Definition, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("experiment: %w", err)
	}
	f, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	def, err := Resolve(f, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return def, nil
}

// Parse reads an experiment file (YAML or JSON) and validates it. Unknown
// fields are errors: a misspelt field would silently change the
// experiment.
func Parse(data []byte) (*File, error) {
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%d bytes is more than the limit of %d", len(data), MaxFileSize)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("empty experiment file")
	}
	j, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("not valid YAML or JSON: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	var f File
	if err := dec.Decode(&f); err != nil {
		return nil, decodeError(err)
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return &f, nil
}

// decodeError rewrites encoding/json's errors to name the field.
func decodeError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "(top level)"
		}
		return &FieldError{Path: field, Reason: fmt.Sprintf("want %s, got %s", kindName(te.Type.Kind().String()), te.Value)}
	}
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return fmt.Errorf("unknown field %s (fields: name, labels, profile, duration, warmup, cooldown, pause, repeats, baseline, rps, connections, variants, sweep, metrics)", rest)
	}
	return errors.New(strings.TrimPrefix(msg, "json: "))
}

func kindName(k string) string {
	switch k {
	case "int", "int64", "float64":
		return "a number"
	case "slice":
		return "a list"
	case "struct", "map":
		return "a mapping"
	}
	return "a " + k
}

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// Validate reports every problem of f at once, each a *FieldError.
func (f *File) Validate() error {
	var errs []error
	bad := func(path, format string, a ...any) {
		errs = append(errs, &FieldError{Path: path, Reason: fmt.Sprintf(format, a...)})
	}
	dur := func(path, s string) (time.Duration, bool) {
		if s == "" {
			return 0, true
		}
		d, err := time.ParseDuration(s)
		switch {
		case err != nil:
			bad(path, "invalid duration %q (want e.g. 10s or 1m30s)", s)
			return 0, false
		case d < 0:
			bad(path, "must not be negative, got %s", s)
			return 0, false
		}
		return d, true
	}
	switch {
	case f.Name == "":
		bad("name", "required: the experiment's name (running the file again resumes it)")
	case len(f.Name) > 200 || !namePattern.MatchString(f.Name):
		bad("name", "%q: use letters, digits and . _ - (at most 200)", f.Name)
	}
	for k := range f.Labels {
		if k == "" {
			bad("labels", "a label needs a non-empty key")
		}
		if reservedLabels[k] {
			bad("labels."+k, "reserved: meshperf labels every cell with it")
		}
	}
	d, _ := dur("duration", f.Duration)
	if f.Duration != "" && d == 0 {
		bad("duration", "must be above 0")
	}
	if w, ok := dur("warmup", f.Warmup); ok && w%time.Second != 0 {
		bad("warmup", "must be whole seconds, got %s", w)
	}
	if c, ok := dur("cooldown", f.Cooldown); ok && d > 0 && c >= d {
		bad("cooldown", "%s leaves nothing of the %s duration for metrics", c, d)
	}
	dur("pause", f.Pause)
	switch {
	case f.Repeats < 0:
		bad("repeats", "must be at least 1, got %d", f.Repeats)
	case f.Repeats > MaxRepeats:
		bad("repeats", "at most %d, got %d", MaxRepeats, f.Repeats)
	}
	if f.RPS != nil && *f.RPS < 0 {
		bad("rps", "must be >= 0 (0 is closed loop), got %g", *f.RPS)
	}
	if f.Connections < 0 {
		bad("connections", "must be at least 1, got %d", f.Connections)
	}
	if len(f.Variants) == 0 {
		bad("variants", "at least one variant is required (e.g. baseline and proxy)")
	}
	names := map[string]bool{}
	for i, v := range f.Variants {
		p := fmt.Sprintf("variants[%d]", i)
		switch {
		case v.Name == "":
			bad(p+".name", "required")
		case !namePattern.MatchString(v.Name):
			bad(p+".name", "%q: use letters, digits and . _ -", v.Name)
		case names[v.Name]:
			bad(p+".name", "%q is given twice", v.Name)
		}
		names[v.Name] = true
		if v.Profile == "" && f.Profile == "" && len(v.Targets) == 0 {
			bad(p, "give targets or a profile (or a top-level profile)")
		}
		for j, u := range v.Targets {
			if err := checkTarget(u); err != nil {
				bad(fmt.Sprintf("%s.targets[%d]", p, j), "%v", err)
			}
		}
	}
	for _, v := range f.Variants {
		if v.Profile == "" && f.Profile == "" && f.Duration == "" {
			bad("duration", "required when a variant has no profile to take it from")
			break
		}
	}
	for i, d := range f.Designs {
		p := fmt.Sprintf("designs[%d]", i)
		if d.Name == "" {
			bad(p+".name", "required: a stored design (meshperf design list)")
		}
		if d.Revision < 0 {
			bad(p+".revision", "must be >= 0 (0 is the latest), got %d", d.Revision)
		}
		dur(p+".timeout", d.Timeout)
	}
	if f.Baseline != "" && !names[f.Baseline] {
		bad("baseline", "%q is not a variant", f.Baseline)
	}
	if len(f.Sweep.RPS) == 0 && len(f.Sweep.Connections) == 0 {
		bad("sweep", "give rps and/or connections to sweep over, e.g. sweep: {rps: [100, 200, 400]}")
	}
	if len(f.Sweep.RPS) == 0 && f.RPS == nil {
		bad("rps", "give sweep.rps or rps (0 runs closed loop)")
	}
	seenR := map[float64]bool{}
	for i, r := range f.Sweep.RPS {
		switch {
		case r < 0:
			bad(fmt.Sprintf("sweep.rps[%d]", i), "must be >= 0 (0 is closed loop), got %g", r)
		case seenR[r]:
			bad(fmt.Sprintf("sweep.rps[%d]", i), "%g is given twice", r)
		}
		seenR[r] = true
	}
	seenC := map[int]bool{}
	for i, c := range f.Sweep.Connections {
		switch {
		case c < 1:
			bad(fmt.Sprintf("sweep.connections[%d]", i), "must be at least 1, got %d", c)
		case seenC[c]:
			bad(fmt.Sprintf("sweep.connections[%d]", i), "%d is given twice", c)
		}
		seenC[c] = true
	}
	if n := len(f.Variants) * max(1, len(f.Sweep.RPS)) * max(1, len(f.Sweep.Connections)) * max(1, f.Repeats); n > MaxCells {
		bad("sweep", "%d cells is more than the limit of %d", n, MaxCells)
	}
	if err := spec.ValidateMetrics("metrics", f.Metrics); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// checkTarget checks a variant's target URL.
func checkTarget(raw string) error {
	p := &spec.Profile{Duration: "1s", Clients: []spec.Client{{EndpointURLs: []string{raw}}}}
	err := p.Validate()
	if err == nil {
		return nil
	}
	// The profile's own error names its path; keep the reason only.
	var fe *spec.FieldError
	if errors.As(err, &fe) {
		return errors.New(fe.Reason)
	}
	return err
}

// Resolve reads the profiles f names, relative to dir, and returns the
// Definition to run.
func Resolve(f *File, dir string) (*Definition, error) {
	def := &Definition{File: *f, Profiles: map[string]*spec.Profile{}}
	cache := map[string]*spec.Profile{}
	var errs []error
	read := func(field, name string) *spec.Profile {
		if p, ok := cache[name]; ok {
			return p
		}
		path := name
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, &FieldError{Path: field, Reason: err.Error()})
			cache[name] = nil
			return nil
		}
		p, _, err := spec.ParseProfile(data)
		if err == nil {
			err = p.Validate()
		}
		if err != nil {
			errs = append(errs, &FieldError{Path: field, Reason: fmt.Sprintf("profile %s: %s", name, strings.ReplaceAll(err.Error(), "\n", "; "))})
			cache[name] = nil
			return nil
		}
		cache[name] = p
		return p
	}
	for i, v := range f.Variants {
		switch {
		case v.Profile != "":
			def.Profiles[v.Name] = read(fmt.Sprintf("variants[%d].profile", i), v.Profile)
		case f.Profile != "":
			def.Profiles[v.Name] = read("profile", f.Profile)
		}
		if p := def.Profiles[v.Name]; p != nil && f.Duration == "" && p.Duration == "" {
			errs = append(errs, &FieldError{Path: "duration", Reason: fmt.Sprintf("required: the profile of variant %s has no duration", v.Name)})
		}
		if p := def.Profiles[v.Name]; p == nil {
			delete(def.Profiles, v.Name)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return def, nil
}

// Body is the definition as stored with the experiment: canonical JSON, so
// two runs of the same file compare equal.
func (d *Definition) Body() ([]byte, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("experiment: encoding the definition: %w", err)
	}
	return b, nil
}

// DecodeDefinition reads a definition stored with an experiment.
func DecodeDefinition(body []byte) (*Definition, error) {
	var d Definition
	if err := json.Unmarshal(body, &d); err != nil {
		return nil, fmt.Errorf("experiment: the stored definition: %w", err)
	}
	return &d, nil
}

// BaselineName is the variant the others are compared with.
func (f *File) BaselineName() string {
	if f.Baseline != "" {
		return f.Baseline
	}
	for _, v := range f.Variants {
		if v.Name == "baseline" {
			return v.Name
		}
	}
	if len(f.Variants) > 0 {
		return f.Variants[0].Name
	}
	return ""
}
