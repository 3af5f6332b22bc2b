package smi

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/meshperf/meshperf/internal/conformance/result"
)

// Selection chooses tests of the set, as the Gateway API suite's
// --run-test and --skip-tests do.
type Selection struct {
	RunTest   string
	SkipTests []string
}

// Check names a test of RunTest or SkipTests that the set does not have.
func (s Selection) Check() error {
	for _, n := range append([]string{s.RunTest}, s.SkipTests...) {
		if n != "" && !slices.ContainsFunc(Tests, func(t Test) bool { return t.Name == n }) {
			return fmt.Errorf("test %q is not in profile %s (its tests: %s)", n, Profile, testNames())
		}
	}
	return nil
}

func testNames() string {
	s := ""
	for i, t := range Tests {
		if i > 0 {
			s += ", "
		}
		s += t.Name
	}
	return s
}

// NotRun is every test of the set not run, for why (the harness never
// became ready), the skipped ones skipped.
func NotRun(apis APIs, sel Selection, why string) []result.TestResult {
	out := make([]result.TestResult, 0, len(Tests))
	for _, t := range Tests {
		tr := planned(t)
		if msg := skipped(t, apis, sel); msg != "" {
			tr.Status, tr.Message = result.Skip, msg
		} else {
			tr.Status, tr.Message = result.NotRun, why
		}
		out = append(out, tr)
	}
	return out
}

func planned(t Test) result.TestResult {
	return result.TestResult{Name: t.Name, Description: t.Description, Features: slices.Clone(t.Needs)}
}

func skipped(t Test, apis APIs, sel Selection) string {
	switch {
	case sel.RunTest != "" && sel.RunTest != t.Name:
		return "not selected (--run-test " + sel.RunTest + ")"
	case slices.Contains(sel.SkipTests, t.Name):
		return "skipped by name (--skip-tests)"
	}
	return t.skipReason(apis)
}

// RunTests runs the set against e, one test after another; what each
// test applied is deleted with del when it ends. Once ctx ends, the tests
// not ended are not run, with context.Cause(ctx) as the reason.
func RunTests(ctx context.Context, e Env, del func(context.Context, *unstructured.Unstructured) error, sel Selection, progress func(result.TestResult)) []result.TestResult {
	out := make([]result.TestResult, 0, len(Tests))
	for _, t := range Tests {
		tr := planned(t)
		if msg := skipped(t, e.APIs, sel); msg != "" {
			tr.Status, tr.Message = result.Skip, msg
		} else if ctx.Err() != nil {
			tr.Status, tr.Message = result.NotRun, endedReason(ctx)
		} else {
			tr = runOne(ctx, e, t, del)
		}
		if progress != nil && tr.Status != result.NotRun {
			progress(tr)
		}
		out = append(out, tr)
	}
	return out
}

// maxLogLines bounds the lines a test's checks add to its output (a
// check repeats about once a second for up to the consistency window).
const maxLogLines = 40

func runOne(ctx context.Context, e Env, t Test, del func(context.Context, *unstructured.Unstructured) error) result.TestResult {
	tr := planned(t)
	var mu sync.Mutex
	var applied []*unstructured.Unstructured
	log := ""
	apply := e.Apply
	e.Apply = func(ctx context.Context, u *unstructured.Unstructured) error {
		if err := apply(ctx, u); err != nil {
			return fmt.Errorf("create %s %s: %w", u.GetAPIVersion(), u.GetKind(), err)
		}
		mu.Lock()
		applied = append(applied, u)
		log += fmt.Sprintf("applied %s %s/%s\n", u.GetAPIVersion()+" "+u.GetKind(), u.GetNamespace(), u.GetName())
		mu.Unlock()
		return nil
	}
	lines, dropped := 0, 0
	e.logf = func(format string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		if lines >= maxLogLines {
			dropped++
			return
		}
		lines++
		log += fmt.Sprintf(format, a...) + "\n"
	}
	start := time.Now()
	err := t.Run(ctx, &e)
	if dropped > 0 {
		log += fmt.Sprintf("(%d more lines not kept)\n", dropped)
	}
	tr.Duration = time.Since(start)
	// Delete in reverse, even when the run was cancelled.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	var derrs []error
	for i := len(applied) - 1; i >= 0; i-- {
		if derr := del(dctx, applied[i]); derr != nil {
			derrs = append(derrs, derr)
		}
	}
	switch {
	case ctx.Err() != nil:
		tr.Status, tr.Message = result.NotRun, endedReason(ctx)
	case err != nil:
		tr.Status, tr.Message = result.Fail, err.Error()
	default:
		tr.Status = result.Pass
	}
	if len(derrs) > 0 {
		log += "cleanup: " + errors.Join(derrs...).Error() + "\n"
	}
	tr.Output = log
	return tr
}

func endedReason(ctx context.Context) string {
	if c := context.Cause(ctx); c != nil && !errors.Is(c, context.Canceled) && !errors.Is(c, context.DeadlineExceeded) {
		return c.Error()
	}
	return "the run was cancelled before this test ended"
}
