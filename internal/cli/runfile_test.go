package cli_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// profileRevision returns the stored revision of profile name (0: none).
func profileRevision(t *testing.T, name string) int {
	t.Helper()
	out, errOut, code := meshperf(t, "profile", "list", "-o", "json")
	if code != 0 {
		t.Fatalf("profile list: exit %d: %s", code, errOut)
	}
	var ps []struct {
		Name     string `json:"name"`
		Revision int    `json:"revision"`
	}
	if err := json.Unmarshal([]byte(out), &ps); err != nil {
		t.Fatalf("profile list -o json: %v\n%s", err, out)
	}
	for _, p := range ps {
		if p.Name == name {
			return p.Revision
		}
	}
	return 0
}

// TestRunFileLeavesStoredProfiles: run -f never stores or changes a stored
// profile unless --save-profile says so, and says what it did.
func TestRunFileLeavesStoredProfiles(t *testing.T) {
	target := startEcho(t)
	v1 := writeProfile(t, "cart", target, 50)
	if _, errOut, code := meshperf(t, "profile", "apply", "-f", v1); code != 0 {
		t.Fatalf("apply: %d %s", code, errOut)
	}
	// The same name, another rate: run, the stored profile stays.
	v2 := writeProfile(t, "cart", target, 40)
	_, errOut, code := meshperf(t, "run", "-f", v2, "-d", "1s")
	if code != 0 {
		t.Fatalf("run -f: exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "differs from the stored profile cart (revision 1), which was left as it is") {
		t.Errorf("run -f does not say the stored profile was left alone: %s", errOut)
	}
	if rev := profileRevision(t, "cart"); rev != 1 {
		t.Errorf("stored profile cart is at revision %d after run -f, want 1", rev)
	}
	if page := listResults(t, "--profile", "cart"); len(page.Results) != 0 {
		t.Errorf("a run of a different file was linked to the stored profile: %+v", page.Results)
	}
	// A new name is not stored either.
	other := writeProfile(t, "wishlist", target, 40)
	if _, errOut, _ := meshperf(t, "run", "-f", other, "-d", "1s"); !strings.Contains(errOut, "profile wishlist from") || !strings.Contains(errOut, "was not stored") {
		t.Errorf("run -f of a new profile: %s", errOut)
	}
	if rev := profileRevision(t, "wishlist"); rev != 0 {
		t.Errorf("run -f stored profile wishlist (revision %d)", rev)
	}
	// Asked: a new revision, said, and the result belongs to it.
	_, errOut, code = meshperf(t, "run", "-f", v2, "-d", "1s", "--save-profile")
	if code != 0 || !strings.Contains(errOut, "stored profile cart as revision 2 (--save-profile)") {
		t.Fatalf("run -f --save-profile: exit %d: %s", code, errOut)
	}
	if rev := profileRevision(t, "cart"); rev != 2 {
		t.Errorf("revision %d after --save-profile, want 2", rev)
	}
	if page := listResults(t, "--profile", "cart"); len(page.Results) != 1 {
		t.Errorf("results of cart: %d, want 1", len(page.Results))
	}
	// The same file again, without the flag: it is the stored profile, so
	// the result is one of its runs.
	if _, errOut, code := meshperf(t, "run", "-f", v2, "-d", "1s"); code != 0 || strings.Contains(errOut, "differs") {
		t.Errorf("run -f of the stored profile: exit %d: %s", code, errOut)
	}
	if page := listResults(t, "--profile", "cart"); len(page.Results) != 2 {
		t.Errorf("results of cart: %d, want 2", len(page.Results))
	}
}

// TestResultListFigures: durations as people write them, and no data as
// "–" with a failed banner, in the list and in the report.
func TestResultListFigures(t *testing.T) {
	dir := t.TempDir()
	smp := dir + "/slow.json"
	doc := `{"smpVersion": "v0.0.1", "startTime": "2026-01-02T10:00:00Z", "endTime": "2026-01-02T10:01:00Z", "latenciesMs": {"min": 900, "average": 1100, "p50": 1062, "p90": 1500, "p99": 2500, "max": 3000}, "actualQps": 5}`
	if err := os.WriteFile(smp, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := meshperf(t, "result", "import", smp)
	if code != 0 || !strings.Contains(out, "imported a result of an unknown generator as") {
		t.Fatalf("import: exit %d: %q %s", code, out, errOut)
	}
	// Nothing listens on the target: nothing answers.
	_, errOut, code = meshperf(t, "run", "http://127.0.0.1:1/", "-d", "1s", "-c", "1", "--rps", "5")
	if code == 0 {
		t.Fatalf("a run where nothing answered exited 0: %s", errOut)
	}
	out, errOut, code = meshperf(t, "result", "list")
	if code != 0 {
		t.Fatalf("list: %d %s", code, errOut)
	}
	if strings.Contains(out, "e+") || !strings.Contains(out, "1062ms") || !strings.Contains(out, "2500ms") {
		t.Errorf("durations not as people write them:\n%s", out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	failed := strings.Fields(lines[1]) // newest first: the failed run
	if len(failed) < 9 || failed[len(failed)-3] != "–" || failed[len(failed)-2] != "–" {
		t.Errorf("no data not shown as –: %q", lines[1])
	}
	out, _, _ = meshperf(t, "result", "show", failed[0])
	if !strings.Contains(out, "FAILED: nothing answered") || strings.Contains(out, " 0ms") {
		t.Errorf("show of the failed run:\n%s", out)
	}
}

// TestRunMeshInSMP: a profile's mesh (Meshery's mesh: {type: 3}) comes out
// of the run's SMP export as the same wrapper, and not in the strict form.
func TestRunMeshInSMP(t *testing.T) {
	target := startEcho(t)
	path := t.TempDir() + "/mesh.yaml"
	body := "name: meshy\nduration: 1s\nmesh: {type: 3}\nclients:\n- protocol: 1\n  connections: 1\n  rps: 20\n  endpoint_urls: [" + target + "/]\n"
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := meshperf(t, "run", "-f", path)
	if code != 0 {
		t.Fatalf("run: %d %s", code, errOut)
	}
	id := strings.Fields(errOut[strings.Index(errOut, "saved as result ")+len("saved as result "):])[0]
	out, _, _ := meshperf(t, "result", "export", id, "--format", "smp")
	if !strings.Contains(out, "\nmesh:\n  type: 3\n") {
		t.Errorf("smp export lacks mesh: {type: 3}:\n%s", out)
	}
	strict, _, _ := meshperf(t, "result", "export", id, "--format", "smp-strict")
	if strings.Contains(strict, "mesh\"") || strings.Contains(strict, "meshperf") || !strings.Contains(strict, "\"latenciesMs\"") {
		t.Errorf("strict export:\n%s", strict)
	}
}
