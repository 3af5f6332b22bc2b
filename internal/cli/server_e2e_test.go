package cli_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/meshperf/meshperf/spec"
)

// serverProc runs `meshperf server` with env and returns its URL and the
// process, so a test can kill it.
func serverProc(t *testing.T, env []string, args ...string) (string, *exec.Cmd) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"server", "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		re := regexp.MustCompile(`listening on (http://[0-9.:]+)`)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case u := <-found:
		return u, cmd
	case <-time.After(10 * time.Second):
		t.Fatal("meshperf server did not say where it listens")
	}
	return "", nil
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil {
		json.NewDecoder(resp.Body).Decode(v)
	}
	return resp.StatusCode
}

// The end-to-end path: a server, a profile run against echo from the
// CLI with --server, progress events each second, the result found and
// compared with another.
func TestServerEndToEnd(t *testing.T) {
	env := remoteEnv(t)
	target := startEcho(t, "--delay", "1ms")
	base, _ := serverProc(t, env)
	path := writeProfile(t, "e2e", target, 100)

	// Watch the events of the run the CLI starts: subscribe to the first
	// run that appears.
	type progress struct {
		Second   int `json:"second"`
		Requests int `json:"requests"`
	}
	got := make(chan []progress, 1)
	go func() {
		var runID string
		for i := 0; i < 200 && runID == ""; i++ {
			var page struct {
				Runs []struct {
					ID string `json:"id"`
				} `json:"runs"`
			}
			resp, err := http.Get(base + "/api/v1/runs")
			if err == nil {
				json.NewDecoder(resp.Body).Decode(&page)
				resp.Body.Close()
				if len(page.Runs) > 0 {
					runID = page.Runs[0].ID
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		var ps []progress
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/runs/"+runID+"/events", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			got <- nil
			return
		}
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		event := ""
		for sc.Scan() {
			line := sc.Text()
			if e, ok := strings.CutPrefix(line, "event: "); ok {
				event = e
			}
			if d, ok := strings.CutPrefix(line, "data: "); ok && event == "progress" {
				var ev struct {
					Progress progress `json:"progress"`
				}
				json.Unmarshal([]byte(d), &ev)
				ps = append(ps, ev.Progress)
			}
		}
		got <- ps
	}()

	out, errOut, code := mp(t, env, "", "--server", base, "run", "-f", path, "-o", "json")
	if code != 0 {
		t.Fatalf("run --server: exit %d\n%s", code, errOut)
	}
	var res struct {
		ID       string `json:"id"`
		Achieved struct {
			Responses int `json:"responses"`
		} `json:"achieved"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Achieved.Responses != 200 {
		t.Fatalf("result: %v %+v", err, res)
	}
	ps := <-got
	if len(ps) < 2 {
		t.Fatalf("%d progress events for a 2 s run, want one a second", len(ps))
	}
	for i, p := range ps {
		if p.Second != i || (p.Requests < 80 && i < 2) {
			t.Errorf("progress %d: %+v", i, p)
		}
	}
	// Find it, run another, compare them through the server.
	list, _, _ := mp(t, env, "", "--server", base, "result", "list", "-o", "json")
	if !strings.Contains(list, res.ID) {
		t.Fatalf("result %s not listed: %s", res.ID, list)
	}
	out, _, code = mp(t, env, "", "--server", base, "run", "-f", writeProfile(t, "e2e-faster", target, 200), "-o", "json")
	var other struct {
		ID string `json:"id"`
	}
	json.Unmarshal([]byte(out), &other)
	if code != 0 || other.ID == "" {
		t.Fatalf("second run: %d", code)
	}
	cmp, errOut, code := mp(t, env, "", "--server", base, "result", "compare", res.ID, other.ID)
	if code != 0 || !strings.Contains(cmp, "requested rate differs") || !strings.Contains(cmp, "p99") {
		t.Errorf("compare: %d %s\n%s", code, errOut, cmp)
	}
}

// Killing the server (SIGKILL) mid-run and starting it again: the run is
// marked interrupted and every earlier result is intact.
func TestServerKilledMidRun(t *testing.T) {
	env := remoteEnv(t)
	target := startEcho(t)
	db := t.TempDir() + "/m.db"
	// A partial result every second; a server silent for 2s is dead.
	durable := []string{"--db", db, "--save-every", "1s", "--instance-timeout", "2s"}
	base, cmd := serverProc(t, env, durable...)
	path := writeProfile(t, "kill", target, 100)

	if _, errOut, code := mp(t, env, "", "--server", base, "run", "-f", path); code != 0 {
		t.Fatalf("first run: %s", errOut)
	}
	var before struct {
		Results []struct {
			ID string `json:"id"`
		} `json:"results"`
	}
	getJSON(t, base+"/api/v1/results", &before)
	if len(before.Results) != 1 {
		t.Fatalf("results before: %+v", before)
	}

	long := strings.Replace(string(mustRead(t, path)), "duration: 2s", "duration: 60s", 1)
	body, _ := json.Marshal(map[string]any{"profile_document": json.RawMessage(yamlToJSON(t, long))})
	resp, err := http.Post(base+"/api/v1/runs", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	var run struct {
		ID string `json:"id"`
	}
	json.NewDecoder(resp.Body).Decode(&run)
	resp.Body.Close()
	for i := 0; i < 100; i++ {
		var r struct {
			State string `json:"state"`
		}
		getJSON(t, base+"/api/v1/runs/"+run.ID, &r)
		if r.State == "running" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(3500 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	// The restarted server takes the killed one's run for dead once its
	// heartbeat is 2s stale, and marks it interrupted with the partial
	// result saved before the kill attached.
	base2, _ := serverProc(t, env, durable...)
	var r struct {
		State    string `json:"state"`
		Error    string `json:"error"`
		ResultID string `json:"result_id"`
	}
	for deadline := time.Now().Add(15 * time.Second); ; {
		if code := getJSON(t, base2+"/api/v1/runs/"+run.ID, &r); code != 200 {
			t.Fatalf("run after the restart: %d", code)
		}
		if r.State != "running" || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r.State != "interrupted" || !strings.Contains(r.Error, "no heartbeat") || r.ResultID == "" {
		t.Fatalf("after SIGKILL and restart: %+v; want interrupted with its partial result", r)
	}
	var partial spec.Result
	if code := getJSON(t, base2+"/api/v1/results/"+r.ResultID, &partial); code != 200 {
		t.Fatalf("partial result %s: %d", r.ResultID, code)
	}
	// 100 rps for 3.5s, saved every second: at least two seconds' worth.
	t.Logf("partial result: %d requests, %d responses, p99 %v", partial.Achieved.Requests, partial.Achieved.Responses, partial.ServiceTime)
	if !partial.Interrupted || partial.Achieved.Requests < 150 || partial.ServiceTime == nil || partial.ServiceTime.Count < 150 || len(partial.Timeline) < 2 {
		t.Errorf("partial result: interrupted %v, %d requests, %+v, %d seconds; want what the first seconds measured",
			partial.Interrupted, partial.Achieved.Requests, partial.ServiceTime, len(partial.Timeline))
	}
	for _, res := range before.Results {
		if code := getJSON(t, base2+"/api/v1/results/"+res.ID, nil); code != 200 {
			t.Errorf("earlier result %s: %d", res.ID, code)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// yamlToJSON turns a profile file into the JSON document the API takes.
func yamlToJSON(t *testing.T, y string) []byte {
	t.Helper()
	p, _, err := spec.ParseProfile([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.JSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Profiles and results managed through a server: apply, show (and a
// revision, and the history), export, delete; results deleted.
func TestServerProfileAndResultCommands(t *testing.T) {
	env := remoteEnv(t)
	target := startEcho(t)
	base, _ := serverProc(t, env)
	srv := []string{"--server", base}
	p1 := writeProfile(t, "remote", target, 100)
	p2 := writeProfile(t, "remote", target, 150)
	for _, p := range []string{p1, p2} {
		if _, errOut, code := mp(t, env, "", append(srv, "profile", "apply", "-f", p)...); code != 0 {
			t.Fatalf("apply: %s", errOut)
		}
	}
	out, errOut, code := mp(t, env, "", append(srv, "profile", "show", "remote")...)
	if code != 0 || !strings.Contains(out, "rps: 150") || !strings.Contains(out, "revision 2") {
		t.Errorf("show: %d %s %s", code, out, errOut)
	}
	if out, _, _ := mp(t, env, "", append(srv, "profile", "show", "remote", "--revision", "1")...); !strings.Contains(out, "rps: 100") {
		t.Errorf("show revision 1: %s", out)
	}
	if out, _, _ := mp(t, env, "", append(srv, "profile", "show", "remote", "--history")...); strings.Count(out, "\n") != 3 {
		t.Errorf("history: %q", out)
	}
	out, _, code = mp(t, env, "", append(srv, "profile", "export", "remote", "--format", "json")...)
	if code != 0 || !strings.Contains(out, `"rps": 150`) {
		t.Errorf("export: %d %s", code, out)
	}
	if _, errOut, code := mp(t, env, "", append(srv, "run", "--profile", "remote")...); code != 0 {
		t.Fatalf("run --profile: %s", errOut)
	}
	var page struct {
		Results []struct {
			ID string `json:"id"`
		} `json:"results"`
	}
	getJSON(t, base+"/api/v1/results", &page)
	if len(page.Results) != 1 {
		t.Fatalf("results: %+v", page)
	}
	if out, errOut, code := mp(t, env, "", append(srv, "result", "delete", page.Results[0].ID)...); code != 0 || !strings.Contains(out, "deleted") {
		t.Errorf("result delete: %d %s", code, errOut)
	}
	if code := getJSON(t, base+"/api/v1/results/"+page.Results[0].ID, nil); code != 404 {
		t.Errorf("deleted result still served: %d", code)
	}
	if _, _, code := mp(t, env, "", append(srv, "profile", "delete", "remote")...); code != 0 {
		t.Errorf("profile delete: %d", code)
	}
	if _, errOut, code := mp(t, env, "", append(srv, "profile", "show", "remote")...); code != 2 || !strings.Contains(errOut, "remote") {
		t.Errorf("show after delete: %d %s", code, errOut)
	}
}
