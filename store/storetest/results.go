package storetest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/store"
)

var epoch = time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)

// sample returns a small result starting i minutes after epoch.
func sample(i int, labels map[string]string) *spec.Result {
	rng := rand.New(rand.NewPCG(uint64(i), 1))
	return SampleResult(rng, Sample{Start: epoch.Add(time.Duration(i) * time.Minute), Values: 100, Seconds: 2, Labels: labels})
}

// wantSummary is the summary the store should give of r saved with ref.
func wantSummary(r *spec.Result, ref store.ResultRef) store.ResultSummary {
	s := store.Summarize(r)
	s.ProfileID, s.ProfileRevision = ref.ProfileID, ref.ProfileRevision
	s.OwnerID, s.Private = ref.OwnerID, ref.Private
	if len(s.Labels) == 0 {
		s.Labels = nil
	}
	return s
}

func sameSummary(t *testing.T, what string, got, want store.ResultSummary) {
	t.Helper()
	if !got.StartTime.Equal(want.StartTime) || !got.EndTime.Equal(want.EndTime) {
		t.Errorf("%s: times %v–%v, want %v–%v", what, got.StartTime, got.EndTime, want.StartTime, want.EndTime)
	}
	got.StartTime, got.EndTime, want.StartTime, want.EndTime = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func (o opener) testResultRoundTrip(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	rng := rand.New(rand.NewPCG(1, 2))
	r := SampleResult(rng, Sample{
		Start: epoch, Values: 5000, Seconds: 60, IntervalHistograms: true, OpenLoop: true,
		Generator: "meshperf", Targets: []string{"http://a:8080/", "http://b:8080/"},
		Labels: map[string]string{"mesh": "istio", "env": "dev", "ünïcode": "✓"},
	})
	r.Name = "round trip"
	r.Requested.Warmup = spec.Duration(2 * time.Second)
	r.Timeline[0].Warmup = true
	r.Timeline[3].ErrorClasses = map[string]int64{"connection refused": 3}
	r.Errors = []spec.ErrorClass{{Class: "connection refused", Count: 3, Examples: []string{"dial tcp: connection refused"}}}
	r.Achieved.Late, r.Achieved.LateRatio, r.Achieved.LateThreshold = 12, 0.0004, spec.Duration(time.Millisecond)
	r.Interrupted = true
	ref := store.ResultRef{ProfileID: "some-profile", ProfileRevision: 3}

	id, err := s.SaveResult(ctx, r, ref)
	must(t, "SaveResult", err)
	if id == "" || r.ID != id {
		t.Fatalf("SaveResult returned ID %q and set r.ID to %q", id, r.ID)
	}
	got, err := s.GetResult(ctx, id)
	must(t, "GetResult", err)
	if !reflect.DeepEqual(got.Result, r) {
		t.Errorf("result changed in the round trip:\n got %+v\nwant %+v", got.Result, r)
	}
	if got.Result.Latency.Histogram == "" || got.Result.Timeline[59].Latency == "" {
		t.Error("histograms lost")
	}
	sameSummary(t, "summary", got.Summary, wantSummary(r, ref))
	if got.Summary.P99Ms != r.Latency.Percentiles[4].Ms || got.Summary.Target != "http://a:8080/" {
		t.Errorf("summary p99 %v target %q, want the latency's p99 %v and the first target", got.Summary.P99Ms, got.Summary.Target, r.Latency.Percentiles[4].Ms)
	}

	// A closed-loop result is summarised by its service time; an ID given
	// is kept.
	c := sample(1, nil)
	c.ID = "given-id"
	id, err = s.SaveResult(ctx, c, store.ResultRef{})
	must(t, "SaveResult", err)
	if id != "given-id" {
		t.Errorf("SaveResult with an ID returned %q", id)
	}
	got, err = s.GetResult(ctx, id)
	must(t, "GetResult", err)
	if !reflect.DeepEqual(got.Result, c) {
		t.Errorf("closed-loop result changed in the round trip")
	}
	if p50, _ := c.ServiceTime.At(50); got.Summary.P50Ms != p50 || p50 == 0 {
		t.Errorf("closed-loop summary p50 %v, want the service time's %v", got.Summary.P50Ms, p50)
	}
}

func (o opener) testResultInvalid(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	noStart := sample(0, nil)
	noStart.StartTime = time.Time{}
	nanRate := sample(1, nil)
	nanRate.Achieved.RPS = math.NaN()
	for name, r := range map[string]*spec.Result{"nil": nil, "no start time": noStart, "NaN rate": nanRate} {
		_, err := s.SaveResult(ctx, r, store.ResultRef{})
		wantErr(t, "SaveResult "+name, err, store.ErrInvalid)
	}
	_, err := s.SaveResult(ctx, sample(2, nil), store.ResultRef{ProfileRevision: -1})
	wantErr(t, "SaveResult with revision -1", err, store.ErrInvalid)
	wantEmpty(t, s)
}

// wantEmpty fails the test if s holds a result.
func wantEmpty(t *testing.T, s store.Store) {
	t.Helper()
	page, err := s.ListResults(t.Context(), store.ResultFilter{})
	must(t, "ListResults", err)
	if len(page.Results) > 0 {
		t.Errorf("the store holds %d results, want none", len(page.Results))
	}
}

// The body is written last: a result that cannot be encoded (a NaN deep in
// its timeline) fails after its summary, labels and targets were written.
func (o opener) testResultFailedWrite(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	r := sample(0, map[string]string{"doomed": "yes"})
	r.Requested.Targets = []string{"http://doomed/"}
	r.Timeline[1].AchievedRPS = math.NaN()
	_, err := s.SaveResult(ctx, r, store.ResultRef{})
	wantErr(t, "SaveResult of an unencodable result", err, store.ErrInvalid)
	if r.ID != "" {
		t.Errorf("a failed save left r.ID = %q", r.ID)
	}
	wantEmpty(t, s)
	for _, f := range []store.ResultFilter{{Labels: map[string]string{"doomed": "yes"}}, {Target: "http://doomed/"}} {
		page, err := s.ListResults(ctx, f)
		must(t, "ListResults", err)
		if len(page.Results) > 0 {
			t.Errorf("ListResults(%+v) found %d results of a failed save", f, len(page.Results))
		}
	}
	// The store still works, and the same result saves once fixed.
	r.Timeline[1].AchievedRPS = 1
	_, err = s.SaveResult(ctx, r, store.ResultRef{})
	must(t, "SaveResult after a failed one", err)
}

// Saves whose context is cancelled at random points are all or nothing.
func (o opener) testResultCancel(t *testing.T) {
	s := o.open(t)
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := s.SaveResult(cancelled, sample(0, nil), store.ResultRef{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("SaveResult with a cancelled context: %v, want context.Canceled", err)
	}
	wantEmpty(t, s)

	type attempt struct {
		r   *spec.Result
		err error
	}
	var mu sync.Mutex
	var attempts []attempt
	for round := range 5 {
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for i := 0; ; i++ {
					r := sample(1000*round+100*g+i, map[string]string{"g": fmt.Sprint(g)})
					r.ID = fmt.Sprintf("cancel-%d-%d-%03d", round, g, i) // kept on failure, to look for it
					_, err := s.SaveResult(ctx, r, store.ResultRef{})
					mu.Lock()
					attempts = append(attempts, attempt{r, err})
					mu.Unlock()
					if err != nil {
						return
					}
				}
			})
		}
		time.Sleep(time.Duration(5+5*round) * time.Millisecond)
		cancel()
		wg.Wait()
	}

	stored := 0
	for _, a := range attempts {
		got, err := s.GetResult(t.Context(), a.r.ID)
		switch {
		case err == nil:
			stored++
			if !reflect.DeepEqual(got.Result, a.r) || !maps.Equal(got.Summary.Labels, a.r.Labels) {
				t.Errorf("result %s is stored incompletely", a.r.ID)
			}
		case errors.Is(err, store.ErrNotFound):
			if a.err == nil {
				t.Errorf("result %s was saved without error but is missing", a.r.ID)
			}
		default:
			t.Fatalf("GetResult %s: %v", a.r.ID, err)
		}
	}
	page, err := s.ListResults(t.Context(), store.ResultFilter{Limit: store.MaxLimit})
	must(t, "ListResults", err)
	if len(page.Results) != stored {
		t.Errorf("ListResults lists %d results, GetResult finds %d", len(page.Results), stored)
	}
	t.Logf("%d saves attempted, %d stored", len(attempts), stored)
}

func (o opener) testResultConflict(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	first := sample(0, map[string]string{"which": "first"})
	id, err := s.SaveResult(ctx, first, store.ResultRef{})
	must(t, "SaveResult", err)
	second := sample(1, map[string]string{"which": "second"})
	second.ID = id
	_, err = s.SaveResult(ctx, second, store.ResultRef{})
	wantErr(t, "SaveResult with a taken ID", err, store.ErrConflict)
	got, err := s.GetResult(ctx, id)
	must(t, "GetResult", err)
	if got.Summary.Labels["which"] != "first" || !got.Result.StartTime.Equal(first.StartTime) {
		t.Errorf("the first result changed: %+v", got.Summary)
	}
}

// entry is a saved result and what a listing should show of it.
type entry struct {
	r   *spec.Result
	ref store.ResultRef
	sum store.ResultSummary
}

// saveMany saves n varied results, starting i/ties minutes after epoch, and
// returns them.
func saveMany(t *testing.T, s store.Store, n, ties int) []entry {
	t.Helper()
	gens := []string{"meshperf", "fortio", "wrk2"}
	targets := []string{"http://a/", "http://b/", "http://c/"}
	meshes := []string{"istio", "linkerd", "none"}
	profiles := []string{"p1", "p2", "p3", ""}
	var es []entry
	for i := range n {
		rng := rand.New(rand.NewPCG(uint64(i), 7))
		var labels map[string]string
		if i%5 != 0 {
			labels = map[string]string{"env": []string{"dev", "prod"}[i%2], "mesh": meshes[i%3]}
		}
		r := SampleResult(rng, Sample{
			Start:     epoch.Add(time.Duration(i/ties) * time.Minute),
			Values:    50,
			Seconds:   1,
			Generator: gens[i%3],
			Targets:   []string{targets[i%3]},
			Labels:    labels,
		})
		if i%4 == 0 {
			r.Requested.Targets = append(r.Requested.Targets, targets[(i+1)%3])
		}
		ref := store.ResultRef{ProfileID: profiles[i%4]}
		if ref.ProfileID != "" {
			ref.ProfileRevision = 1 + i%2
		}
		_, err := s.SaveResult(t.Context(), r, ref)
		must(t, "SaveResult", err)
		es = append(es, entry{r, ref, wantSummary(r, ref)})
	}
	return es
}

// want returns the summaries of the entries f selects, newest first.
func want(es []entry, f store.ResultFilter) []store.ResultSummary {
	var out []store.ResultSummary
	for _, e := range es {
		r := e.r
		switch {
		case f.ProfileID != "" && e.ref.ProfileID != f.ProfileID,
			!f.Since.IsZero() && r.StartTime.Before(f.Since),
			!f.Until.IsZero() && !r.StartTime.Before(f.Until),
			f.Generator != "" && r.Generator.Name != f.Generator,
			f.Target != "" && !slices.Contains(r.Requested.Targets, f.Target):
			continue
		}
		ok := true
		for k, v := range f.Labels {
			if got, has := r.Labels[k]; !has || got != v {
				ok = false
			}
		}
		if ok {
			out = append(out, e.sum)
		}
	}
	slices.SortFunc(out, func(a, b store.ResultSummary) int {
		return cmp.Or(b.StartTime.Compare(a.StartTime), cmp.Compare(b.ID, a.ID))
	})
	return out
}

func ids(ss []store.ResultSummary) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.ID
	}
	return out
}

func (o opener) testListFilters(t *testing.T) {
	s := o.open(t)
	es := saveMany(t, s, 48, 2)
	at := func(min int) time.Time { return epoch.Add(time.Duration(min) * time.Minute) }
	tests := []struct {
		name string
		f    store.ResultFilter
	}{
		{"all", store.ResultFilter{}},
		{"profile", store.ResultFilter{ProfileID: "p2"}},
		{"one label", store.ResultFilter{Labels: map[string]string{"env": "prod"}}},
		{"two labels", store.ResultFilter{Labels: map[string]string{"env": "prod", "mesh": "istio"}}},
		{"unknown label", store.ResultFilter{Labels: map[string]string{"team": "x"}}},
		{"since, inclusive", store.ResultFilter{Since: at(10)}},
		{"until, exclusive", store.ResultFilter{Until: at(10)}},
		{"time range", store.ResultFilter{Since: at(3), Until: at(17)}},
		{"time range between results", store.ResultFilter{Since: at(3).Add(time.Second), Until: at(4)}},
		{"generator", store.ResultFilter{Generator: "fortio"}},
		{"first target", store.ResultFilter{Target: "http://a/"}},
		{"any target", store.ResultFilter{Target: "http://b/"}},
		{"unknown target", store.ResultFilter{Target: "http://z/"}},
		{"everything", store.ResultFilter{ProfileID: "p1", Labels: map[string]string{"env": "dev"}, Since: at(2), Until: at(20), Generator: "meshperf", Target: "http://a/"}},
		{"profile and label", store.ResultFilter{ProfileID: "p3", Labels: map[string]string{"mesh": "linkerd"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.f.Limit = store.MaxLimit
			page, err := s.ListResults(t.Context(), tt.f)
			must(t, "ListResults", err)
			w := want(es, tt.f)
			if !slices.Equal(ids(page.Results), ids(w)) {
				t.Fatalf("got %d results %v\nwant %d %v", len(page.Results), ids(page.Results), len(w), ids(w))
			}
			for i := range w {
				sameSummary(t, "summary "+w[i].ID, page.Results[i], w[i])
			}
			if page.Next != "" {
				t.Errorf("Next = %q on the only page", page.Next)
			}
		})
	}
	if len(want(es, tests[len(tests)-2].f)) == 0 {
		t.Error("the test data match nothing in the filter with every field: make it match something")
	}
}

func (o opener) testPagination(t *testing.T) {
	s := o.open(t)
	es := saveMany(t, s, 137, 3) // three results per start time: the ID breaks ties
	for _, tt := range []struct {
		name  string
		f     store.ResultFilter
		pages []int
	}{
		{"all", store.ResultFilter{Limit: 50}, []int{50, 50, 37}},
		{"filtered", store.ResultFilter{Limit: 20, Labels: map[string]string{"env": "dev"}}, nil},
		{"exact pages", store.ResultFilter{Limit: 137}, []int{137}},
		{"one at a time, a time range", store.ResultFilter{Limit: 1, Since: epoch.Add(10 * time.Minute), Until: epoch.Add(13 * time.Minute)}, []int{1, 1, 1, 1, 1, 1, 1, 1, 1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []store.ResultSummary
			var sizes []int
			f := tt.f
			for {
				page, err := s.ListResults(t.Context(), f)
				must(t, "ListResults", err)
				got = append(got, page.Results...)
				sizes = append(sizes, len(page.Results))
				if page.Next == "" {
					break
				}
				if len(sizes) > 200 {
					t.Fatal("pagination does not end")
				}
				f.Cursor = page.Next
			}
			w := want(es, tt.f)
			if !slices.Equal(ids(got), ids(w)) {
				t.Errorf("pages hold %d results %v\nwant %d %v", len(got), ids(got), len(w), ids(w))
			}
			if tt.pages != nil && !slices.Equal(sizes, tt.pages) {
				t.Errorf("page sizes %v, want %v", sizes, tt.pages)
			}
		})
	}
}

func (o opener) testListLimits(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	saveMany(t, s, 60, 1)
	page, err := s.ListResults(ctx, store.ResultFilter{})
	must(t, "ListResults", err)
	if len(page.Results) != store.DefaultLimit || page.Next == "" {
		t.Errorf("default page: %d results, next %q; want %d and a cursor", len(page.Results), page.Next, store.DefaultLimit)
	}
	page, err = s.ListResults(ctx, store.ResultFilter{Limit: 1 << 20})
	must(t, "ListResults", err)
	if len(page.Results) != 60 || page.Next != "" {
		t.Errorf("huge limit: %d results, next %q; want all 60", len(page.Results), page.Next)
	}
	_, err = s.ListResults(ctx, store.ResultFilter{Limit: -1})
	wantErr(t, "negative limit", err, store.ErrInvalid)
	for _, c := range []string{"garbage!", "bm90LWEtY3Vyc29y"} {
		_, err = s.ListResults(ctx, store.ResultFilter{Cursor: c})
		wantErr(t, "cursor "+c, err, store.ErrInvalid)
	}
}

func (o opener) testIDPrefix(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	for i, id := range []string{"0123456789abcdef0001", "0123456789abcdef0002", "0123456789abcdff0003", "fedcba", "fedcba01"} {
		r := sample(i, nil)
		r.ID = id
		_, err := s.SaveResult(ctx, r, store.ResultRef{})
		must(t, "SaveResult", err)
	}
	for _, tt := range []struct{ ref, want string }{
		{"0123456789abcdef0001", "0123456789abcdef0001"},
		{"0123456789abcdff", "0123456789abcdff0003"},
		{"0123456789abcdf", "0123456789abcdff0003"},
		{"fedcba", "fedcba"}, // an exact ID wins over the longer one it prefixes
		{"fedcba0", "fedcba01"},
	} {
		got, err := s.GetResult(ctx, tt.ref)
		must(t, "GetResult "+tt.ref, err)
		if got.Summary.ID != tt.want || got.Result.ID != tt.want {
			t.Errorf("GetResult(%q) = %s, want %s", tt.ref, got.Summary.ID, tt.want)
		}
	}
	_, err := s.GetResult(ctx, "0123456789abcde")
	var amb *store.AmbiguousError
	if !errors.As(err, &amb) || !errors.Is(err, store.ErrInvalid) || len(amb.IDs) != 2 {
		t.Errorf("GetResult of an ambiguous prefix: %v, want an *AmbiguousError (ErrInvalid) naming 2 IDs", err)
	}
	for _, ref := range []string{"01234", "0123456789abcdef00010", "0123x", "", "fedcbb"} {
		_, err := s.GetResult(ctx, ref)
		wantErr(t, fmt.Sprintf("GetResult(%q)", ref), err, store.ErrNotFound)
	}
	err = s.DeleteResult(ctx, "0123456789abcde")
	wantErr(t, "DeleteResult of an ambiguous prefix", err, store.ErrInvalid)
	must(t, "DeleteResult by prefix", s.DeleteResult(ctx, "0123456789abcdff"))
	if _, err := s.GetResult(ctx, "0123456789abcdff0003"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted by prefix, still there: %v", err)
	}
	must(t, "DeleteResult", s.DeleteResult(ctx, "0123456789abcdef0002"))
	if _, err := s.GetResult(ctx, "0123456789abcdef0002"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted, still there: %v", err)
	}
	got, err := s.GetResult(ctx, "0123456789abcde")
	must(t, "GetResult of the prefix, unique again", err)
	if got.Summary.ID != "0123456789abcdef0001" {
		t.Errorf("got %s", got.Summary.ID)
	}
}

func (o opener) testDeleteResult(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	a, err := s.SaveResult(ctx, sample(0, map[string]string{"only": "a"}), store.ResultRef{ProfileID: "p", ProfileRevision: 1})
	must(t, "SaveResult", err)
	b, err := s.SaveResult(ctx, sample(1, map[string]string{"only": "b"}), store.ResultRef{ProfileID: "p", ProfileRevision: 1})
	must(t, "SaveResult", err)
	must(t, "DeleteResult", s.DeleteResult(ctx, a))
	_, err = s.GetResult(ctx, a)
	wantErr(t, "GetResult after delete", err, store.ErrNotFound)
	wantErr(t, "DeleteResult twice", s.DeleteResult(ctx, a), store.ErrNotFound)
	for _, f := range []store.ResultFilter{{}, {ProfileID: "p"}, {Labels: map[string]string{"only": "a"}}, {Target: "http://127.0.0.1:8080/"}} {
		page, err := s.ListResults(ctx, f)
		must(t, "ListResults", err)
		for _, r := range page.Results {
			if r.ID == a {
				t.Errorf("ListResults(%+v) lists the deleted result", f)
			}
		}
	}
	if _, err := s.GetResult(ctx, b); err != nil {
		t.Errorf("the other result: %v", err)
	}
}

func (o opener) testConcurrentSave(t *testing.T) {
	s := o.open(t)
	const goroutines, each = 8, 25
	var wg sync.WaitGroup
	saved := make([][]string, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				r := sample(g*each+i, map[string]string{"g": fmt.Sprint(g)})
				id, err := s.SaveResult(t.Context(), r, store.ResultRef{})
				if err != nil {
					t.Errorf("goroutine %d: SaveResult: %v", g, err)
					return
				}
				saved[g] = append(saved[g], id)
			}
		})
	}
	wg.Wait()
	page, err := s.ListResults(t.Context(), store.ResultFilter{Limit: store.MaxLimit})
	must(t, "ListResults", err)
	want := slices.Concat(saved...)
	got := ids(page.Results)
	slices.Sort(want)
	slices.Sort(got)
	if len(want) != goroutines*each || !slices.Equal(got, want) {
		t.Errorf("listed %d results, saved %d of %d", len(got), len(want), goroutines*each)
	}
	for g := range goroutines {
		page, err := s.ListResults(t.Context(), store.ResultFilter{Labels: map[string]string{"g": fmt.Sprint(g)}})
		must(t, "ListResults", err)
		if len(page.Results) != each {
			t.Errorf("goroutine %d: %d results listed, want %d", g, len(page.Results), each)
		}
	}
}

// Reopening runs the migrations again: nothing to do, nothing lost.
func (o opener) testReopen(t *testing.T) {
	s, ctx := o(t), t.Context()
	p := newProfile("kept", map[string]string{"k": "v"})
	must(t, "CreateProfile", s.CreateProfile(ctx, p))
	p.Body = []byte(`{"v":2}`)
	must(t, "UpdateProfile", s.UpdateProfile(ctx, p))
	es := saveMany(t, s, 5, 1)
	must(t, "Close", s.Close())

	for range 2 {
		s := o.open(t)
		got, err := s.GetProfile(ctx, "kept")
		must(t, "GetProfile after reopening", err)
		sameProfile(t, "profile after reopening", got, p)
		page, err := s.ListResults(ctx, store.ResultFilter{})
		must(t, "ListResults after reopening", err)
		if w := want(es, store.ResultFilter{}); !slices.Equal(ids(page.Results), ids(w)) {
			t.Errorf("after reopening, results %v, want %v", ids(page.Results), ids(w))
		}
		r, err := s.GetResult(ctx, es[0].r.ID)
		must(t, "GetResult after reopening", err)
		if !reflect.DeepEqual(r.Result, es[0].r) {
			t.Error("result changed across reopening")
		}
		must(t, "Close", s.Close())
	}
}
