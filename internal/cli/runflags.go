package cli

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/spec"
)

// plan turns the flags into a Plan for the given targets, naming every wrong
// flag at once.
func (o *runOptions) plan(targets []string) (*loadgen.Plan, error) {
	p := &loadgen.Plan{Targets: targets}
	if err := o.apply(p, func(string) bool { return true }); err != nil {
		return nil, err
	}
	return p, nil
}

// plans makes a test's plans: the profile's, the URLs given replacing its
// targets and the flags for which set is true overriding its fields; or,
// without a profile, one plan from the flags.
func (o *runOptions) plans(prof *spec.Profile, targets []string, set func(flag string) bool) ([]*loadgen.Plan, error) {
	if prof == nil {
		p, err := o.plan(targets)
		if err != nil {
			return nil, err
		}
		return []*loadgen.Plan{p}, nil
	}
	plans, err := loadgen.PlansFromProfile(prof)
	if err != nil {
		return nil, &UsageError{Err: err}
	}
	var errs []error
	for _, p := range plans {
		if len(targets) > 0 {
			p.Targets = targets // URLs on the command line replace the profile's
		}
		if err := o.apply(p, set); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, &UsageError{Err: errors.Join(errs...)}
	}
	return plans, nil
}

// apply sets the fields of p that the flags for which set is true name:
// every flag for a plan made from the command line, only those given for a
// plan from a profile (flags override profile fields). It normalizes and
// validates p, naming every wrong flag at once.
func (o *runOptions) apply(p *loadgen.Plan, set func(flag string) bool) error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	for _, f := range runFlags {
		if f.set != nil && (set(f.name) || f.also != "" && set(f.also)) {
			f.set(o, p, set, bad)
		}
	}
	if o.output != "text" && o.output != "json" {
		bad("--output: unknown format %q (want text or json)", o.output)
	}
	switch o.progress {
	case "auto", "always", "never":
	default:
		bad("--progress: want auto, always or never, not %q", o.progress)
	}
	for _, l := range o.labels {
		if k, _, ok := strings.Cut(l, "="); !ok || k == "" {
			bad("--label %q: want key=value", l)
		}
	}
	p.Normalize()
	if err := p.Validate(); err != nil {
		var fe *loadgen.FieldError
		for _, e := range unjoin(err) {
			if errors.As(e, &fe) {
				bad("%s: %s", flagFor(fe.Field), fe.Reason)
			} else {
				bad("%v", e)
			}
		}
	}
	if len(errs) > 0 {
		return &UsageError{Err: errors.Join(errs...)}
	}
	return nil
}

// flagFor names the flag that sets a Plan field, as Plan.Validate names
// the field.
func flagFor(field string) string {
	switch {
	case strings.HasPrefix(field, "targets"):
		return "URL"
	case strings.HasPrefix(field, "headers"):
		return "--header"
	case field == "tcp":
		return "--tcp-expect-bytes/--tcp-delimiter"
	}
	name := ""
	for _, f := range runFlags {
		if f.field == field {
			name = "--" + f.name
			break
		}
	}
	if strings.HasPrefix(field, "tls") {
		return name + "(" + field + ")"
	}
	return name
}

// flagsWhere lists, as --name, the flags of runFlags that are given and
// for which is is true.
func flagsWhere(given func(string) bool, is func(runFlag) bool) []string {
	var out []string
	for _, f := range runFlags {
		if is(f) && given(f.name) {
			out = append(out, "--"+f.name)
		}
	}
	return out
}

// defaultLoop makes the default open loop closed for a generator that
// cannot hold a rate (wrk), saying so, rather than refusing a run the user
// asked nothing special of.
func (o *runOptions) defaultLoop(stdio IO, p *loadgen.Plan) {
	g, err := loadgen.NewGenerator(o.generator, Version)
	if err != nil {
		return // the run reports the unknown generator
	}
	if d, ok := g.(loadgen.Describer); ok && !d.Capabilities().OpenLoop {
		p.Rate = nil
		fmt.Fprintf(stdio.Err, "meshperf: %s runs closed loop only, so this run is closed loop (the default, open loop at %d/s, is meshperf's)\n", o.generator, loadgen.DefaultRPS)
	}
}

// maxAgents bounds --agents.
const maxAgents = 10_000

// agentSelection is what --agents and --agent-selector ask for, nil when
// neither is given.
func (o *runOptions) agentSelection() (*spec.AgentSelection, error) {
	if o.agents == 0 && o.agentSelector == "" {
		return nil, nil
	}
	if o.agents < 0 || o.agents > maxAgents {
		return nil, usageErrorf("--agents: want 1 to %d agents, got %d", maxAgents, o.agents)
	}
	if _, err := spec.ParseSelector(o.agentSelector); err != nil {
		return nil, usageErrorf("--agent-selector: %v", err)
	}
	return &spec.AgentSelection{Count: o.agents, Selector: o.agentSelector}, nil
}

// setHeader replaces the value of name (case-insensitively) or adds it.
func setHeader(hs []loadgen.Header, name, value string) []loadgen.Header {
	for i, h := range hs {
		if strings.EqualFold(h.Name, name) {
			hs[i].Value = value
			return hs
		}
	}
	return append(hs, loadgen.Header{Name: name, Value: value})
}

// protoFlags are the flags of gRPC and TCP runs.
type protoFlags struct {
	protoDescriptor string
	tcpPayload      string
	tcpExpect       int
	tcpDelimiter    string
}

func (o *protoFlags) register(f *pflag.FlagSet) {
	f.StringVar(&o.protoDescriptor, "proto-descriptor", "", "gRPC: FileDescriptorSet describing the method (protoc --descriptor_set_out=FILE --include_imports); default: server reflection")
	f.StringVar(&o.tcpPayload, "tcp-payload", "", `TCP: bytes to send per request, with escapes such as \n, \r, \t, \x00 (default: --body)`)
	f.IntVar(&o.tcpExpect, "tcp-expect-bytes", 0, "TCP: a response is this many bytes (default: as many as sent)")
	f.StringVar(&o.tcpDelimiter, "tcp-delimiter", "", `TCP: a response ends with these bytes, with escapes such as \n`)
}

// unescape reads the escapes \n, \r, \t, \0, \\ and \xHH in s.
func unescape(s string) ([]byte, error) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		if i+1 == len(s) {
			return nil, fmt.Errorf("%q ends with a lone backslash (write \\\\ for one)", s)
		}
		i++
		switch s[i] {
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case '0':
			out = append(out, 0)
		case '\\':
			out = append(out, '\\')
		case 'x':
			if i+3 > len(s) {
				return nil, fmt.Errorf("%q: \\x needs two hex digits", s)
			}
			v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return nil, fmt.Errorf("%q: \\x needs two hex digits, not %q", s, s[i+1:i+3])
			}
			out = append(out, byte(v))
			i += 2
		default:
			return nil, fmt.Errorf("%q: unknown escape \\%c (known: \\n \\r \\t \\0 \\\\ \\xHH)", s, s[i])
		}
	}
	return out, nil
}
