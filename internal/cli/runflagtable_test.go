package cli

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/loadgen"
)

// The table names real flags: every row a flag of meshperf run, every
// capacity row a flag of meshperf capacity.
func TestRunFlagsAreFlags(t *testing.T) {
	stdio := IO{Out: io.Discard, Err: io.Discard}
	run := newRunCmd(stdio, &globalOptions{}).Flags()
	capacity := newCapacityCmd(stdio, &globalOptions{}).Flags()
	seen := map[string]bool{}
	for _, f := range runFlags {
		if seen[f.name] {
			t.Errorf("--%s: listed twice", f.name)
		}
		seen[f.name] = true
		if run.Lookup(f.name) == nil {
			t.Errorf("--%s: not a flag of meshperf run", f.name)
		}
		if f.also != "" && run.Lookup(f.also) == nil {
			t.Errorf("--%s: also names --%s, not a flag of meshperf run", f.name, f.also)
		}
		if f.capacity && capacity.Lookup(f.name) == nil {
			t.Errorf("--%s: a capacity row, not a flag of meshperf capacity", f.name)
		}
		if f.local && f.override {
			t.Errorf("--%s: both local and an override", f.name)
		}
	}
}

// A wrong value is reported by the flag that set it, whether apply or
// Plan.Validate found it.
func TestApplyNamesTheFlag(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    runOptions
		want string
	}{
		{"connections", runOptions{connections: 0, streams: 1, httpVersion: "1.1", output: "text", progress: "auto"}, "--connections: must be >= 1"},
		{"http", runOptions{connections: 1, streams: 1, httpVersion: "3", output: "text", progress: "auto"}, `--http: unknown HTTP version "3"`},
		{"timeout, from Validate", runOptions{connections: 1, streams: 1, httpVersion: "1.1", timeout: -1, output: "text", progress: "auto"}, "--timeout: "},
		{"ca file, from Validate", runOptions{connections: 1, streams: 1, httpVersion: "1.1", timeout: 1, caFile: "/nonexistent/ca.pem", output: "text", progress: "auto"}, "--ca-cert(tls.ca_file): "},
		{"bad rate shape", runOptions{connections: 1, streams: 1, httpVersion: "1.1", timeout: 1, shape: "ramp:x", output: "text", progress: "auto"}, "--rps/--rate-shape: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.o
			_, err := o.plan([]string{"http://127.0.0.1:1/"})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("plan: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// Only the given flags override a profile's plan; the rest stay.
func TestApplyOnlyTheFlagsSet(t *testing.T) {
	o := runOptions{connections: 7, streams: 1, method: "POST", httpVersion: "1.1", output: "text", progress: "auto", timeout: 1}
	p := &loadgen.Plan{Targets: []string{"http://127.0.0.1:1/"}, Connections: 3, Method: "GET", Timeout: 1, Duration: time.Second}
	if err := o.apply(p, func(f string) bool { return f == "connections" }); err != nil {
		t.Fatal(err)
	}
	if p.Connections != 7 || p.Method != "GET" {
		t.Errorf("connections %d, method %s; want 7 (given) and GET (the profile's)", p.Connections, p.Method)
	}
}

// --tls-no-resumption turns TLS session resumption off; without it a
// profile's choice stays.
func TestApplyTLSNoResumption(t *testing.T) {
	for _, tc := range []struct {
		name           string
		given, profile bool
		want           bool
	}{
		{"flag given", true, false, true},
		{"flag not given, profile's off", false, true, true},
		{"neither", false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := runOptions{connections: 1, streams: 1, httpVersion: "1.1", output: "text", progress: "auto", timeout: 1, noResumption: tc.given}
			p := &loadgen.Plan{Targets: []string{"https://127.0.0.1:1/"}, Connections: 1, Timeout: 1, Duration: time.Second, TLS: loadgen.TLS{NoResumption: tc.profile}}
			if err := o.apply(p, func(f string) bool { return f == "tls-no-resumption" && tc.given }); err != nil {
				t.Fatal(err)
			}
			if p.TLS.NoResumption != tc.want {
				t.Errorf("NoResumption %v, want %v", p.TLS.NoResumption, tc.want)
			}
		})
	}
}
