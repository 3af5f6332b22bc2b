package spec

import (
	"strings"
	"testing"
)

func TestParseObjectives(t *testing.T) {
	tests := []struct {
		in      string
		want    []Objective
		wantErr string
	}{
		{"p99<=20ms", []Objective{{Metric: "p99", Op: "<=", Value: 20, Raw: "p99<=20ms"}}, ""},
		{"p99.9 < 1s, error_rate<0.1%", []Objective{
			{Metric: "p99.9", Op: "<", Value: 1000, Raw: "p99.9 < 1s"},
			{Metric: "error_rate", Op: "<", Value: 0.001, Raw: "error_rate<0.1%"},
		}, ""},
		{"rps>=990", []Objective{{Metric: "rps", Op: ">=", Value: 990, Raw: "rps>=990"}}, ""},
		{"service_p50<=2ms", []Objective{{Metric: "service_p50", Op: "<=", Value: 2, Raw: "service_p50<=2ms"}}, ""},
		{"error_rate<=0.02", []Objective{{Metric: "error_rate", Op: "<=", Value: 0.02, Raw: "error_rate<=0.02"}}, ""},
		{"", nil, ""},
		{"p99", nil, "want METRIC OP VALUE"},
		{"p99=20ms", nil, "operator must be"},
		{"p98<=1ms", nil, `unknown metric "p98"`},
		{"service_rps>1", nil, `unknown metric "service_rps"`},
		{"error_rate<150%", nil, "is not a ratio"},
		{"p99<=-1ms", nil, "is not a duration"},
		{"p99<=1ms,bogus<1,p50<=x", nil, `unknown metric "bogus"`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseObjectives(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("[%d] got %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
	// Every problem is reported at once.
	_, err := ParseObjectives("p98<=1ms,p99<=soon")
	if err == nil || !strings.Contains(err.Error(), "p98") || !strings.Contains(err.Error(), "soon") {
		t.Errorf("err = %v, want both problems", err)
	}
}

func TestCheck(t *testing.T) {
	open := &Result{
		Achieved:    Achieved{ErrorRate: 0.002, RPS: 995},
		Latency:     &Distribution{Count: 10, Percentiles: []Percentile{{P: 50, Ms: 3}, {P: 99, Ms: 25}}, MaxMs: 40},
		ServiceTime: &Distribution{Count: 10, Percentiles: []Percentile{{P: 50, Ms: 2}, {P: 99, Ms: 5}}},
	}
	closed := &Result{ServiceTime: open.ServiceTime}
	empty := &Result{ServiceTime: &Distribution{}}
	stopped := *open
	stopped.Interrupted = true
	tests := []struct {
		name   string
		r      *Result
		slo    string
		met    bool
		status string
	}{
		{"latency met", open, "p99<=25ms", true, VerdictMet},
		{"latency broken", open, "p99<25ms", false, VerdictBroken},
		{"service form uses service time", open, "service_p99<=5ms", true, VerdictMet},
		{"closed loop uses service time", closed, "p99<=5ms", true, VerdictMet},
		{"max", open, "max<=30ms", false, VerdictBroken},
		{"error rate broken", open, "error_rate<0.1%", false, VerdictBroken},
		{"error rate met", open, "error_rate<=0.2%", true, VerdictMet},
		{"rps", open, "rps>=990", true, VerdictMet},
		{"nothing measured", empty, "p99<=1s", false, VerdictBroken},
		{"a stopped run's figures would meet it: not evaluated", &stopped, "p99<=25ms", false, VerdictNotEvaluated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := ParseObjectives(tc.slo)
			if err != nil {
				t.Fatal(err)
			}
			v := Check(tc.r, objs)
			if v[0].Met != tc.met || v[0].Status != tc.status {
				t.Errorf("%s: met = %v, status %q (%s), want %v, %q", tc.slo, v[0].Met, v[0].Status, v[0], tc.met, tc.status)
			}
		})
	}
}

func FuzzParseObjectives(f *testing.F) {
	for _, s := range []string{"p99<=20ms", "error_rate<0.1%,rps>=1", "p99.99 > 1h", ",,", "<=", "p50<="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		objs, err := ParseObjectives(s)
		if err != nil {
			return
		}
		r := &Result{ServiceTime: &Distribution{Count: 1, Percentiles: []Percentile{{P: 99, Ms: 1}}}}
		_ = Check(r, objs)
	})
}
