package conformance

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	confv1 "sigs.k8s.io/gateway-api/conformance/apis/v1"
	"sigs.k8s.io/gateway-api/conformance/utils/suite"

	"github.com/meshperf/meshperf/internal/cluster"
	"github.com/meshperf/meshperf/internal/conformance/testout"
	"github.com/meshperf/meshperf/kube"
)

// RunLabel marks the namespaces a run's suite creates, with the run's
// random id, so that a cancelled run's are found and deleted.
const RunLabel = "meshperf.io/conformance-run"

// Options of one conformance run.
type Options struct {
	Kube    kube.Config
	Profile string
	// Features are the extended features declared supported; the
	// profile's core features are always tested.
	Features     []string
	GatewayClass string // the GatewayClass under test (GATEWAY-* profiles)
	// Mesh names the mesh under test; empty takes the one mesh discovery
	// finds, if exactly one. MeshVersion overrides the discovered version.
	Mesh, MeshVersion string
	// Organization, URL and Contact fill the official report's
	// implementation (the suite requires them for a report submitted
	// upstream).
	Organization, URL string
	Contact           []string
	// NamespaceLabels and NamespaceAnnotations go on the suite's
	// namespaces (e.g. istio-injection=enabled).
	NamespaceLabels      map[string]string
	NamespaceAnnotations map[string]string
	// SetupTimeout bounds the suite's wait for its pods to be ready and
	// its GatewayClass accepted (the suite's defaults, 300s and 180s,
	// when 0).
	SetupTimeout time.Duration
	// Timeout bounds the whole run (required).
	Timeout           time.Duration
	AllowCRDsMismatch bool
	SkipTests         []string
	RunTest           string
	// DiscoveryWait bounds reading the cluster's meshes (default 15s).
	DiscoveryWait time.Duration
	// Command makes the command that runs the suite's child process with
	// the options file at path (default: this executable with
	// "conformance suite --options PATH", see SuiteMain).
	Command func(ctx context.Context, optionsPath string) *exec.Cmd
	// Progress, when set, is called as each test of the profile ends.
	Progress func(TestResult)
	// Output, when set, gets the suite's raw verbose output.
	Output io.Writer
}

func (o Options) check() (Profile, []string, error) {
	p, err := LookupProfile(o.Profile)
	if err != nil {
		return p, nil, fmt.Errorf("%w: %w", ErrInput, err)
	}
	fs, err := CheckFeatures(p, o.Features)
	if err != nil {
		return p, nil, fmt.Errorf("%w: %w", ErrInput, err)
	}
	if !p.IsMesh() && o.GatewayClass == "" {
		return p, nil, fmt.Errorf("%w: profile %s tests a Gateway: name its GatewayClass (--gateway-class)", ErrInput, p.Name)
	}
	if o.Timeout <= 0 {
		return p, nil, fmt.Errorf("%w: a run needs an overall timeout", ErrInput)
	}
	if o.RunTest != "" {
		found := false
		var names []string
		for _, t := range Plan(p, fs) {
			names = append(names, t.Name)
			found = found || t.Name == o.RunTest
		}
		if !found {
			return p, nil, fmt.Errorf("%w: test %q is not in profile %s%s", ErrInput, o.RunTest, p.Name, didYouMean(o.RunTest, names))
		}
	}
	return p, fs, nil
}

// Run runs the profile's tests against the cluster and returns their
// result. An error before the suite started (bad options, no Gateway API,
// RBAC) returns no result; once it started, a result is returned whatever
// happened, with Outcome and Reason saying how it ended, and the
// namespaces it created are deleted.
func Run(ctx context.Context, o Options) (*Result, error) {
	p, fs, err := o.check()
	if err != nil {
		return nil, err
	}
	rc, _, err := kube.RESTConfig(o.Kube)
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	pctx, pcancel := context.WithTimeout(ctx, 30*time.Second)
	defer pcancel()
	gw, err := checkGatewayAPI(pctx, dyn, p, o.AllowCRDsMismatch)
	if err != nil {
		return nil, err
	}
	if err := checkAccess(pctx, cs, p); err != nil {
		return nil, err
	}
	before, err := namespaceNames(pctx, cs)
	if err != nil {
		return nil, fmt.Errorf("list namespaces: %w", err)
	}
	if err := checkTerminating(pctx, cs, p); err != nil {
		return nil, err
	}
	impl := implementation(ctx, rc, o)

	res := &Result{
		Kind: "gateway-api", Profile: p.Name, SuiteVersion: SuiteVersion,
		Implementation: impl, Cluster: rc.Host,
		GatewayAPI: gw.version, GatewayAPIChannel: gw.channel, GatewayClass: o.GatewayClass,
		Started: time.Now().UTC(), SupportedFeatures: fs,
	}
	for _, f := range p.Extended {
		if !contains(fs, f) {
			res.UnsupportedFeatures = append(res.UnsupportedFeatures, f)
		}
	}
	if res.SupportedFeatures == nil {
		res.SupportedFeatures = []string{}
	}

	dir, err := os.MkdirTemp("", "meshperf-conformance-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	runID := randomID()
	labels := map[string]string{RunLabel: runID}
	for k, v := range o.NamespaceLabels {
		labels[k] = v
	}
	co := childOptions{
		Kubeconfig: o.Kube.Kubeconfig, Context: o.Kube.Context,
		Profile: p.Name, Supported: append(append([]string{}, p.Core...), fs...),
		GatewayClass: o.GatewayClass, NamespaceLabels: labels, NamespaceAnnotations: o.NamespaceAnnotations,
		Implementation: confv1.Implementation{
			Organization: impl.Organization, Project: impl.Project, URL: impl.URL,
			Version: impl.Version, Contact: impl.Contact,
		},
		SetupTimeout: o.SetupTimeout, TestTimeout: o.Timeout, AllowCRDsMismatch: o.AllowCRDsMismatch,
		SkipTests: o.SkipTests, RunTest: o.RunTest,
		ReportPath: filepath.Join(dir, "report.yaml"),
	}
	optsPath := filepath.Join(dir, "options.json")
	data, _ := json.Marshal(co)
	if err := os.WriteFile(optsPath, data, 0o600); err != nil {
		return nil, err
	}

	rctx, rcancel := context.WithTimeout(ctx, o.Timeout+30*time.Second)
	defer rcancel()
	parser, runErr, stderr := runChild(rctx, o, optsPath)

	cleanCtx, cleanCancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cleanCancel()
	res.Cleanup, err = deleteRunNamespaces(cleanCtx, cs, runID, before)
	if err != nil {
		res.CleanupError = err.Error()
	}
	res.Finished = time.Now().UTC()
	if raw, err := readBounded(co.ReportPath, maxReport); err == nil {
		res.Report = string(raw)
	} else if !errors.Is(err, os.ErrNotExist) {
		res.Reason = fmt.Sprintf("the suite's report: %v", err)
	}

	ended := ""
	switch {
	case ctx.Err() != nil:
		res.Outcome = OutcomeCancelled
		ended = "the run was cancelled before this test ended"
		res.Reason = "cancelled"
	case rctx.Err() != nil || strings.Contains(stderr, "panic: test timed out after"):
		res.Outcome = OutcomeCancelled
		ended = fmt.Sprintf("the run's timeout (%s) passed before this test ended", o.Timeout)
		res.Reason = "timed out after " + o.Timeout.String()
	case runErr != nil && !isExit(runErr):
		ended = fmt.Sprintf("the suite's process failed: %v", runErr)
		res.Reason = ended
	}
	res.Tests = assemble(Plan(p, fs), parser, ended, stderr)
	res.Count()
	if res.Reason == "" && res.Outcome == OutcomeNotRun {
		res.Reason = setupReason(parser, stderr)
	}
	if res.Outcome != OutcomeCancelled {
		if err := VerifyReport(res); err != nil {
			res.ReportMismatch = err.Error()
		}
	}
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	return res, nil
}

// runChild runs the suite's process and parses its output as it comes.
func runChild(ctx context.Context, o Options, optsPath string) (*testout.Parser, error, string) {
	parser := testout.New()
	mkCmd := o.Command
	if mkCmd == nil {
		mkCmd = selfCommand
	}
	cmd := mkCmd(ctx, optsPath)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	var stderr tailBuffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return parser, err, ""
	}
	plan := map[string]bool{}
	if o.Progress != nil {
		p, _ := LookupProfile(o.Profile)
		for _, t := range Plan(p, nil) {
			plan[suiteTestName+"/"+t.Name] = true
		}
		parser.OnDone = func(t *testout.Test) {
			if plan[t.Name] {
				o.Progress(testResultOf(strings.TrimPrefix(t.Name, suiteTestName+"/"), t, parser))
			}
		}
	}
	if err := cmd.Start(); err != nil {
		return parser, fmt.Errorf("%w: start: %w", ErrSuite, err), ""
	}
	var r io.Reader = out
	if o.Output != nil {
		r = io.TeeReader(out, o.Output)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = parser.Read(r)
		_, _ = io.Copy(io.Discard, out)
	}()
	wg.Wait()
	err = cmd.Wait()
	return parser, err, stderr.String()
}

// selfCommand runs this executable's hidden "conformance suite"
// subcommand, which calls SuiteMain.
func selfCommand(ctx context.Context, optionsPath string) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	return exec.CommandContext(ctx, exe, "conformance", "suite", "--options", optionsPath)
}

func isExit(err error) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee) && ee.Exited()
}

// assemble makes the profile's test results from the plan and what the
// suite's output said; ended (non-empty) is why tests still running or
// never started did not end.
func assemble(plan []PlannedTest, p *testout.Parser, ended, stderr string) []TestResult {
	setup := ""
	if top, ok := p.Tests[suiteTestName]; ok && top.Status == testout.Fail {
		setup = "the suite's setup failed: " + setupReason(p, stderr)
	}
	out := make([]TestResult, 0, len(plan))
	for _, pt := range plan {
		tr := TestResult{Name: pt.Name, Description: pt.Description, Features: pt.Features, Provisional: pt.Provisional}
		if t, ok := p.Tests[suiteTestName+"/"+pt.Name]; ok && t.Status != "" {
			got := testResultOf(pt.Name, t, p)
			tr.Status, tr.Duration, tr.Message, tr.Output = got.Status, got.Duration, got.Message, got.Output
		} else if len(pt.Missing) > 0 {
			tr.Status = Skip
			tr.Message = "not declared supported: " + strings.Join(pt.Missing, ", ") + " (--supported-features)"
		} else {
			tr.Status = NotRun
			switch {
			case ended != "":
				tr.Message = ended
			case setup != "":
				tr.Message = setup
			case stderr != "":
				tr.Message = "the suite ended before this test ran: " + lastLine(stderr)
			default:
				tr.Message = "the suite ended before this test ran"
			}
			if ok && t.Len() > 0 {
				tr.Output = t.Output()
			}
		}
		out = append(out, tr)
	}
	return out
}

// testResultOf reads one ended test, its subtests' output included.
func testResultOf(name string, t *testout.Test, p *testout.Parser) TestResult {
	tr := TestResult{Name: name, Status: Status(t.Status), Duration: t.Duration}
	var b strings.Builder
	b.WriteString(t.Output())
	prefix := t.Name + "/"
	var failed []string // failed subtests, in the order they started
	reasons := map[string]string{}
	for _, n := range p.Order {
		if strings.HasPrefix(n, prefix) {
			sub := p.Tests[n]
			if sub.Status == testout.Fail {
				fmt.Fprintf(&b, "--- %s: %s\n", "FAIL", strings.TrimPrefix(n, suiteTestName+"/"))
				failed = append(failed, strings.TrimPrefix(n, prefix))
				reasons[failed[len(failed)-1]] = testout.FailureMessage(sub.Output())
			}
			b.WriteString(sub.Output())
		}
	}
	// A failed subtest whose own subtests failed only logged what passed
	// around them: the failures that say why are the innermost ones.
	var failedSubs []string
	for i, n := range failed {
		inner := false
		for _, m := range failed[i+1:] {
			inner = inner || strings.HasPrefix(m, n+"/")
		}
		if !inner {
			failedSubs = append(failedSubs, n)
		}
	}
	firstReason := ""
	if len(failedSubs) > 0 {
		firstReason = reasons[failedSubs[0]]
	}
	tr.Output = b.String()
	if len(tr.Output) > testout.MaxOutput {
		tr.Output = "[... earlier output cut]\n" + tr.Output[len(tr.Output)-testout.MaxOutput:]
	}
	switch {
	case t.Status == testout.Fail && len(failedSubs) > 0:
		// The reason is the first failed subtest's (the parent only
		// logged what passed around it).
		tr.Message = failedSubs[0] + ": " + firstReason
		if len(failedSubs) > 1 {
			tr.Message = fmt.Sprintf("%d subtests failed (%s); the first, %s", len(failedSubs), strings.Join(failedSubs, ", "), tr.Message)
		}
	case t.Status == testout.Fail:
		tr.Message = testout.FailureMessage(tr.Output)
	case t.Status == testout.Skip:
		tr.Message = testout.FailureMessage(t.Output())
	}
	return tr
}

// setupReason is why the suite's top-level test failed before its tests:
// the suite's message, and the last thing it logged while waiting.
func setupReason(p *testout.Parser, stderr string) string {
	top, ok := p.Tests[suiteTestName]
	if !ok {
		if stderr != "" {
			return "the suite did not start: " + lastLine(stderr)
		}
		return "the suite did not start"
	}
	out := top.Output()
	msg := testout.FailureMessage(out)
	if strings.Contains(msg, "namespaces to be ready") {
		msg = "its pods never became ready: " + msg
	}
	if last := testout.LastLogged(out); last != "" && !strings.Contains(msg, last) {
		msg += " (last logged: " + last + ")"
	}
	return msg
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// implementation names what is tested: the mesh from the flags or the
// cluster's inventory.
func implementation(ctx context.Context, rc *rest.Config, o Options) Implementation {
	impl := Implementation{Mesh: o.Mesh, Version: o.MeshVersion, Organization: o.Organization, URL: o.URL, Contact: o.Contact}
	wait := o.DiscoveryWait
	if wait <= 0 {
		wait = 15 * time.Second
	}
	meshes := discoverMeshes(ctx, rc, wait)
	var found *cluster.Mesh
	for i, m := range meshes {
		if o.Mesh == "" && len(meshes) == 1 || o.Mesh != "" && (strings.EqualFold(m.Mesh, o.Mesh) || strings.EqualFold(m.Name, o.Mesh)) {
			found = &meshes[i]
		}
	}
	if found != nil {
		impl.Mesh, impl.Detected = found.Name, true
		if impl.Version == "" {
			impl.Version = found.Version
		}
	}
	if impl.Project == "" {
		impl.Project = impl.Mesh
	}
	return impl
}

// discoverMeshes reads the cluster's meshes through internal/cluster's
// inventory; nothing (not an error) when it cannot within wait.
func discoverMeshes(ctx context.Context, rc *rest.Config, wait time.Duration) []cluster.Mesh {
	inv, err := cluster.New(rc, cluster.Options{})
	if err != nil {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- inv.Run(ctx) }()
	wctx, wcancel := context.WithTimeout(ctx, wait)
	defer wcancel()
	_ = inv.WaitSynced(wctx)
	snap := inv.Snapshot()
	cancel()
	<-done
	return snap.Meshes
}

func namespaceNames(ctx context.Context, cs kubernetes.Interface) (map[string]bool, error) {
	list, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, n := range list.Items {
		out[n.Name] = true
	}
	return out, nil
}

// suiteNamespaces are the namespaces the suite's setup creates for p.
func suiteNamespaces(p Profile) []string {
	if p.IsMesh() {
		return []string{suite.MeshNamespace, suite.MeshConsumerNamespace}
	}
	return []string{suite.InfrastructureNamespace, suite.AppBackendNamespace, suite.WebBackendNamespace}
}

// checkTerminating refuses to start while one of the suite's namespaces
// is still being deleted (by an earlier run): the suite could create
// nothing in it.
func checkTerminating(ctx context.Context, cs kubernetes.Interface, p Profile) error {
	for _, name := range suiteNamespaces(p) {
		ns, err := cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("get namespace %s: %w", name, err)
		}
		if ns.DeletionTimestamp != nil {
			return fmt.Errorf("%w: namespace %s is still being deleted (since %s, by an earlier run?): the suite cannot create its resources in it; wait until it is gone (kubectl get namespace %s)",
				ErrSuite, name, ns.DeletionTimestamp.UTC().Format(time.RFC3339), name)
		}
	}
	return nil
}

// deleteRunNamespaces deletes the namespaces labelled with this run's id
// that did not exist before it, and returns their names (deleted, or
// already being deleted).
func deleteRunNamespaces(ctx context.Context, cs kubernetes.Interface, runID string, before map[string]bool) ([]string, error) {
	list, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: RunLabel + "=" + runID})
	if err != nil {
		return nil, fmt.Errorf("list the run's namespaces: %w", err)
	}
	var names []string
	var errs []error
	for _, n := range list.Items {
		if before[n.Name] {
			continue
		}
		names = append(names, n.Name)
		if n.DeletionTimestamp != nil {
			continue
		}
		err := cs.CoreV1().Namespaces().Delete(ctx, n.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			errs = append(errs, fmt.Errorf("delete namespace %s: %w", n.Name, err))
		}
	}
	return names, errors.Join(errs...)
}

// maxReport bounds the official report read back (a GATEWAY-HTTP report
// is a few KiB).
const maxReport = 4 << 20

func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("more than %d bytes", limit)
	}
	return b, nil
}

func randomID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// tailBuffer keeps the last 64 KiB written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if b.buf.Len() > 64<<10 {
		rest := b.buf.Bytes()[b.buf.Len()-32<<10:]
		nb := append([]byte(nil), rest...)
		b.buf.Reset()
		b.buf.Write(nb)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
