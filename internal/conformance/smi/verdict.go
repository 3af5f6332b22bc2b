package smi

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Response is what one request got: its status code (0: no response)
// and the backend that answered (the echo server's Hostname, its pod's
// name), or the error that ended it.
type Response struct {
	Code     int
	Hostname string
	Err      string
}

// Answered tells whether a backend answered with a success.
func (r Response) Answered() bool { return r.Err == "" && r.Code >= 200 && r.Code < 400 }

// Z999 is the two-sided 99.9% point of the standard normal distribution:
// a mesh that splits exactly by the weights fails a weight check about
// once in a thousand runs.
const Z999 = 3.2905

// Bound is the tolerance on the count of n requests that go to a backend
// of weight share p: z standard deviations of the binomial count,
// z·√(n·p·(1−p)), plus one request for the count being whole.
func Bound(n int, p, z float64) float64 {
	return z*math.Sqrt(float64(n)*p*(1-p)) + 1
}

// Tally counts responses by backend; a response no backend answered is
// counted under its failure ("error: ..." or "status 503").
type Tally struct {
	N      int
	By     map[string]int
	Failed []string // the distinct failures, first seen first
}

// Count tallies rs, naming each backend by backendOf(hostname) ("" for a
// hostname of none of them).
func Count(rs []Response, backendOf func(hostname string) string) Tally {
	t := Tally{N: len(rs), By: map[string]int{}}
	for _, r := range rs {
		key := ""
		switch {
		case r.Err != "":
			key = "error: " + r.Err
		case !r.Answered():
			key = fmt.Sprintf("status %d", r.Code)
		default:
			key = backendOf(r.Hostname)
			if key == "" {
				key = "unknown backend " + r.Hostname
			}
		}
		if _, seen := t.By[key]; !seen && (r.Err != "" || !r.Answered()) {
			t.Failed = append(t.Failed, key)
		}
		t.By[key]++
	}
	return t
}

// String is the tally as shares: "echo-v1 103/200 (51.5%), echo-v2 97/200 (48.5%)".
func (t Tally) String() string {
	keys := make([]string, 0, len(t.By))
	for k := range t.By {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d/%d (%.1f%%)", k, t.By[k], t.N, pct(t.By[k], t.N))
	}
	return strings.Join(parts, ", ")
}

func pct(k, n int) float64 {
	if n == 0 {
		return 0
	}
	return 100 * float64(k) / float64(n)
}

// CheckSplit checks t against the backends' weights: every request
// answered by one of them, each backend's count within Bound of its
// expected count (a backend of weight 0, or of all the weight, within no
// request). The error gives observed and expected shares.
func CheckSplit(t Tally, backends []Backend, z float64) error {
	total := 0
	for _, b := range backends {
		total += b.Weight
	}
	if t.N == 0 || total == 0 {
		return fmt.Errorf("nothing to check: %d requests, total weight %d", t.N, total)
	}
	answered := 0
	var bad, want []string
	for _, b := range backends {
		p := float64(b.Weight) / float64(total)
		exp := p * float64(t.N)
		got := t.By[b.Service]
		answered += got
		bound := Bound(t.N, p, z)
		if p == 0 || p == 1 {
			bound = 0
		}
		want = append(want, fmt.Sprintf("%s %.1f%% (weight %d)", b.Service, 100*p, b.Weight))
		if math.Abs(float64(got)-exp) > bound {
			bad = append(bad, fmt.Sprintf("%s got %d/%d (%.1f%%), expected %.0f±%.1f (%.1f%%..%.1f%%)",
				b.Service, got, t.N, pct(got, t.N), exp, bound, 100*max(0, exp-bound)/float64(t.N), 100*min(float64(t.N), exp+bound)/float64(t.N)))
		}
	}
	if answered < t.N && len(bad) == 0 {
		bad = append(bad, fmt.Sprintf("%d of %d requests were not answered by a backend of the split", t.N-answered, t.N))
	}
	if len(bad) > 0 {
		return fmt.Errorf("the split was not honoured: observed %s; expected %s over %d requests (99.9%% binomial bound): %s",
			t, strings.Join(want, ", "), t.N, strings.Join(bad, "; "))
	}
	return nil
}

// CheckAllowed checks that every request was answered by a backend.
func CheckAllowed(t Tally, what string) error {
	if len(t.Failed) == 0 {
		return nil
	}
	refused := 0
	for _, f := range t.Failed {
		refused += t.By[f]
	}
	return fmt.Errorf("%s: %d of %d requests were refused or failed, want all answered: %s", what, refused, t.N, t)
}

// CheckRefused checks that no request was answered by a backend: each
// was refused (a 403, or the connection closed or reset, as meshes deny)
// or failed.
func CheckRefused(t Tally, what string) error {
	answered := t.N
	for _, f := range t.Failed {
		answered -= t.By[f]
	}
	if answered == 0 {
		return nil
	}
	return fmt.Errorf("%s: %d of %d requests were answered, want all refused: %s", what, answered, t.N, t)
}
