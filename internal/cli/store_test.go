package cli_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/meshperf/meshperf/internal/cli"
	"github.com/meshperf/meshperf/spec"
)

// writeProfile writes a profile for url to a file and returns its path.
func writeProfile(t *testing.T, name, url string, rps int) string {
	t.Helper()
	body := "smp_version: v0.0.1\nname: " + name + "\nlabels: {team: shop}\nduration: 2s\n" +
		"meshperf:\n  slo: ['p99<=1s']\nclients:\n- load_generator: meshperf\n  protocol: 1\n  connections: 4\n" +
		"  rps: " + itoa(rps) + "\n  endpoint_urls: [" + url + "/]\n"
	path := filepath.Join(t.TempDir(), name+".yaml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func itoa(n int) string { return strconv.Itoa(n) }

type listPage struct {
	Results []struct {
		ID        string            `json:"id"`
		Name      string            `json:"name"`
		ProfileID string            `json:"profile_id"`
		Target    string            `json:"target"`
		Labels    map[string]string `json:"labels"`
	} `json:"results"`
	Next string `json:"next"`
}

func listResults(t *testing.T, args ...string) listPage {
	t.Helper()
	out, errOut, code := meshperf(t, append([]string{"result", "list", "-o", "json"}, args...)...)
	if code != 0 {
		t.Fatalf("result list: exit %d: %s", code, errOut)
	}
	var p listPage
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("result list -o json: %v\n%s", err, out)
	}
	return p
}

// Two real runs against echo targets with different delays: the runs are
// saved with their profile revision, listed, and compared, and the
// comparison names the difference.
func TestProfileRunStoreCompare(t *testing.T) {
	fast := startEcho(t, "--delay", "1ms")
	slow := startEcho(t, "--delay", "20ms")

	path := writeProfile(t, "checkout", fast, 100)
	out, errOut, code := meshperf(t, "profile", "apply", "-f", path)
	if code != 0 || !strings.Contains(out, "profile checkout created") {
		t.Fatalf("apply: exit %d, %q %q", code, out, errOut)
	}
	// Unchanged content is not a new revision.
	if out, _, _ := meshperf(t, "profile", "apply", "-f", path); !strings.Contains(out, "unchanged") {
		t.Errorf("second apply: %q", out)
	}

	_, errOut, code = meshperf(t, "run", "--profile", "checkout")
	if code != 0 || !strings.Contains(errOut, "saved as result") {
		t.Fatalf("run --profile: exit %d, %s", code, errOut)
	}
	// Flags override the profile: the same test against the slow target.
	_, errOut, code = meshperf(t, "run", "-f", path, slow+"/", "--label", "variant=slow")
	if code != 0 {
		t.Fatalf("run -f with URL override: exit %d, %s", code, errOut)
	}

	page := listResults(t, "--profile", "checkout")
	if len(page.Results) != 2 {
		t.Fatalf("results of the profile: %d, want 2", len(page.Results))
	}
	slowID, fastID := page.Results[0].ID, page.Results[1].ID // newest first
	if page.Results[0].Target != slow+"/" || page.Results[1].Target != fast+"/" {
		t.Errorf("targets %q, %q", page.Results[0].Target, page.Results[1].Target)
	}
	if got := listResults(t, "--label", "variant=slow"); len(got.Results) != 1 || got.Results[0].ID != slowID {
		t.Errorf("label filter: %+v", got.Results)
	}
	if got := listResults(t, "--label", "team=shop"); len(got.Results) != 2 {
		t.Errorf("profile labels are kept in results: %d found", len(got.Results))
	}

	out, errOut, code = meshperf(t, "result", "compare", fastID, slowID[:16])
	if code != 0 {
		t.Fatalf("compare: exit %d: %s", code, errOut)
	}
	// Same profile, same rate: only the target differs, and that is said.
	if !strings.Contains(out, "not comparable: targets differ") || strings.Contains(out, "rate differs") || strings.Contains(out, "connections differ") {
		t.Errorf("want exactly the target flagged:\n%s", out)
	}
	var cmp struct {
		Rows []struct {
			Metric string
			Cells  []struct {
				Value float64
				Diff  *float64
				Ratio *float64
			}
		}
	}
	jout, _, _ := meshperf(t, "result", "compare", fastID, slowID, "-o", "json")
	if err := json.Unmarshal([]byte(jout), &cmp); err != nil {
		t.Fatal(err)
	}
	for _, r := range cmp.Rows {
		if r.Metric != "p50" {
			continue
		}
		if d := r.Cells[1].Diff; d == nil || *d < 17 || *d > 22 {
			t.Errorf("p50 difference %v ms, want about 19 (20ms - 1ms delay)", d)
		}
		if q := r.Cells[1].Ratio; q == nil || *q < 5 {
			t.Errorf("p50 ratio %v, want well above 5", q)
		}
	}

	// A different rate is flagged, not compared silently.
	_, _, code = meshperf(t, "run", fast+"/", "--rps", "300", "-d", "1s", "-c", "2")
	if code != 0 {
		t.Fatal("plain run failed")
	}
	other := listResults(t, "--limit", "1").Results[0].ID
	out, _, _ = meshperf(t, "result", "compare", fastID, other)
	if !strings.Contains(out, "not comparable: requested rate differs") {
		t.Errorf("different rates not flagged:\n%s", out)
	}

	// Revisions: a changed profile becomes revision 2; both are kept.
	changed := writeProfile(t, "checkout", fast, 150)
	if out, _, _ := meshperf(t, "profile", "apply", "-f", changed); !strings.Contains(out, "revision 2") {
		t.Errorf("changed profile: %q", out)
	}
	out, _, _ = meshperf(t, "profile", "show", "checkout", "--revision", "1")
	if !strings.Contains(out, "rps: 100") {
		t.Errorf("revision 1 lost:\n%s", out)
	}
}

// Profile YAML → store → export gives the same profile back.
func TestProfileRoundTrip(t *testing.T) {
	path := writeProfile(t, "roundtrip", "http://127.0.0.1:9", 250)
	if _, errOut, code := meshperf(t, "profile", "apply", "-f", path); code != 0 {
		t.Fatal(errOut)
	}
	out, errOut, code := meshperf(t, "profile", "export", "roundtrip")
	if code != 0 {
		t.Fatal(errOut)
	}
	in, _ := os.ReadFile(path)
	want, _, err := spec.ParseProfile(in)
	if err != nil {
		t.Fatal(err)
	}
	got, warnings, err := spec.ParseProfile([]byte(out))
	if err != nil || len(warnings) > 0 {
		t.Fatalf("exported profile: %v %v\n%s", err, warnings, out)
	}
	got.ID = ""
	wj, _ := want.JSON()
	gj, _ := got.JSON()
	if string(wj) != string(gj) {
		t.Errorf("round trip changed the profile:\n got %s\nwant %s", gj, wj)
	}
}

// A result exported as SMP and imported keeps its summary; fortio's own
// file imports and exports back to fortio's numbers.
func TestExportImportRoundTrips(t *testing.T) {
	url := startEcho(t, "--delay", "2ms")
	if _, errOut, code := meshperf(t, "run", url+"/", "--rps", "200", "-d", "1s"); code != 0 {
		t.Fatal(errOut)
	}
	id := listResults(t).Results[0].ID
	smp, _, code := meshperf(t, "result", "export", id, "--format", "smp")
	if code != 0 || !strings.Contains(smp, "latencies_ms:") {
		t.Fatalf("smp export: %d\n%s", code, smp)
	}
	file := filepath.Join(t.TempDir(), "r.smp.yaml")
	os.WriteFile(file, []byte(smp), 0o644)
	out, errOut, code := meshperf(t, "result", "import", file)
	if code != 0 {
		t.Fatalf("import: %s", errOut)
	}
	newID := strings.Fields(out)[len(strings.Fields(out))-3]
	orig, _, _ := meshperf(t, "result", "show", id, "-o", "json")
	back, _, _ := meshperf(t, "result", "show", newID, "-o", "json")
	var a, b spec.Result
	json.Unmarshal([]byte(orig), &a)
	json.Unmarshal([]byte(back), &b)
	for _, p := range []float64{50, 90, 99, 100} {
		x, _ := a.Latency.At(p)
		y, _ := b.Latency.At(p)
		if x != y || x == 0 {
			t.Errorf("p%v: %v before, %v after SMP round trip", p, x, y)
		}
	}
	if a.Achieved.RPS != b.Achieved.RPS || !a.StartTime.Equal(b.StartTime) {
		t.Errorf("rps %v/%v, start %v/%v", a.Achieved.RPS, b.Achieved.RPS, a.StartTime, b.StartTime)
	}

	fixture := "../../loadgen/nighthawk/testdata/fortio-http-2000qps.json"
	out, errOut, code = meshperf(t, "result", "import", fixture)
	if code != 0 || !strings.Contains(out, "a result of fortio 1.66.5 as") || !strings.Contains(out, "bucketed") {
		t.Fatalf("fortio import: %d %q %q", code, out, errOut)
	}
	fid := strings.Fields(out)[len(strings.Fields(out))-3]
	fout, _, _ := meshperf(t, "result", "export", fid, "--format", "fortio")
	var orig2, again map[string]any
	raw, _ := os.ReadFile(fixture)
	json.Unmarshal(raw, &orig2)
	if err := json.Unmarshal([]byte(fout), &again); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"ActualQPS", "RequestedQPS", "NumThreads"} {
		if orig2[k] != again[k] {
			t.Errorf("%s: %v in fortio's file, %v exported back", k, orig2[k], again[k])
		}
	}
	oh, ah := orig2["DurationHistogram"].(map[string]any), again["DurationHistogram"].(map[string]any)
	if oh["Count"] != ah["Count"] {
		t.Errorf("count %v → %v", oh["Count"], ah["Count"])
	}
	if jsonOf(orig2["RetCodes"]) != jsonOf(again["RetCodes"]) {
		t.Errorf("RetCodes %v → %v", orig2["RetCodes"], again["RetCodes"])
	}
}

func jsonOf(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestStoreBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("name: x\nclients:\n- rps: -5\n  connections: ten\n  endpoint_urls: [http://127.0.0.1:1/]\n  rsp: 1\n"), 0o644)
	notDB := filepath.Join(dir, "not.db")
	os.WriteFile(notDB, []byte("this is not a database, just text that is long enough to not be one"), 0o644)
	tests := []struct {
		name    string
		args    []string
		code    int
		wantErr string
	}{
		{"profile with wrong types", []string{"profile", "apply", "-f", bad}, cli.ExitUsage, `clients[0].connections: want an integer, got "ten"`},
		{"unknown field warned", []string{"profile", "apply", "-f", bad}, cli.ExitUsage, "clients[0].rsp: unknown field"},
		{"missing result", []string{"result", "show", "0123456789"}, cli.ExitUsage, `no result "0123456789"`},
		{"missing profile", []string{"run", "--profile", "nope"}, cli.ExitUsage, `no profile "nope"`},
		{"bad export format", []string{"result", "export", "x", "--format", "xml"}, cli.ExitUsage, `unknown format "xml"`},
		{"ambiguous prefix", []string{"result", "show", "0"}, cli.ExitUsage, ""},
		{"compare needs two", []string{"result", "compare", "x"}, cli.ExitUsage, "two or more"},
		{"not a database", []string{"--db", notDB, "result", "list"}, cli.ExitFailed, notDB},
		{"postgres down", []string{"--db", "postgres://u:secret@127.0.0.1:1/x", "result", "list"}, cli.ExitFailed, "cannot reach PostgreSQL"},
		{"import garbage", []string{"result", "import", bad}, cli.ExitUsage, "not a result meshperf can read"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := meshperf(t, tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.wantErr) {
				t.Errorf("exit %d (want %d), stderr %q (want %q)", code, tc.code, errOut, tc.wantErr)
			}
			if strings.Contains(errOut, "secret") {
				t.Errorf("password printed: %q", errOut)
			}
		})
	}
}

// meshperf server serves the store the CLI writes.
func TestServerServesTheStore(t *testing.T) {
	url := startEcho(t)
	if _, errOut, code := meshperf(t, "run", url+"/", "--rps", "50", "-d", "1s", "--name", "via-cli"); code != 0 {
		t.Fatal(errOut)
	}
	cmd := exec.Command(binary, "server", "--listen", "127.0.0.1:0")
	cmd.Env = testEnv(t)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()
	sc := bufio.NewScanner(stderr)
	var base string
	for sc.Scan() {
		if m := regexp.MustCompile(`http://[0-9.:]+`).FindString(sc.Text()); m != "" {
			base = m
			break
		}
	}
	go func() {
		for sc.Scan() {
		}
	}()
	if base == "" {
		t.Fatal("the server did not say where it listens")
	}
	resp, err := http.Get(base + "/api/v1/results")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page listPage
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		t.Fatal(err)
	}
	if len(page.Results) != 1 || page.Results[0].Name != "via-cli" {
		t.Errorf("results over the API: %+v", page.Results)
	}
}
