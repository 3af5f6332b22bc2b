//go:build bench

package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"testing"
)

// teamConfig are the team-mode load test's knobs (environment):
//
//	BENCH_TEAM_DURATION  how long the load lasts (30s)
//	BENCH_TEAM_USERS     users listing, reading and submitting (50)
//	BENCH_TEAM_THINK     each user's pause between two requests (100ms)
//	BENCH_TEAM_RPS       rate of the test the server runs meanwhile (1000)
//	BENCH_TEAM_FLOOD     concurrent logins with bad passwords (200)
//	BENCH_TEAM_FLOOD_IPS source addresses of the flood, 127.0.0.10 on (8)
type teamConfig struct {
	duration, think        time.Duration
	users, flood, floodIPs int
	rps                    float64
}

func loadTeamConfig() (teamConfig, error) {
	c := teamConfig{duration: 30 * time.Second, think: 100 * time.Millisecond, users: 50, flood: 200, floodIPs: 8, rps: 1000}
	for k, d := range map[string]*time.Duration{"BENCH_TEAM_DURATION": &c.duration, "BENCH_TEAM_THINK": &c.think} {
		if v := os.Getenv(k); v != "" {
			x, err := time.ParseDuration(v)
			if err != nil || x < 0 || x > time.Hour {
				return c, fmt.Errorf("%s: want a duration up to 1h, got %q", k, v)
			}
			*d = x
		}
	}
	for k, n := range map[string]*int{"BENCH_TEAM_USERS": &c.users, "BENCH_TEAM_FLOOD": &c.flood, "BENCH_TEAM_FLOOD_IPS": &c.floodIPs} {
		if v := os.Getenv(k); v != "" {
			x, err := strconv.Atoi(v)
			if err != nil || x < 1 || x > 1000 {
				return c, fmt.Errorf("%s: want 1 to 1000, got %q", k, v)
			}
			*n = x
		}
	}
	if c.floodIPs > 200 {
		return c, fmt.Errorf("BENCH_TEAM_FLOOD_IPS: at most 200")
	}
	if v := os.Getenv("BENCH_TEAM_RPS"); v != "" {
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || x <= 0 || x > 100000 {
			return c, fmt.Errorf("BENCH_TEAM_RPS: want a rate up to 100000, got %q", v)
		}
		c.rps = x
	}
	return c, nil
}

const teamPassword = "a long enough bench password"

// teamAPI is a client of the server under test, from one source address.
type teamAPI struct {
	base string
	c    *http.Client
}

func newTeamAPI(base, fromIP string) *teamAPI {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(fromIP)}, Timeout: 5 * time.Second}
	return &teamAPI{base: base, c: &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 256}}}
}

// do sends a request and decodes a JSON answer into out (if not nil).
func (a *teamAPI) do(ctx context.Context, method, path, token string, body any, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return 0, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return resp.StatusCode, err
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, err
		}
	}
	return resp.StatusCode, nil
}

func (a *teamAPI) login(ctx context.Context, name, password string) (string, int, error) {
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	code, err := a.do(ctx, "POST", "/api/v1/auth/login", "", map[string]string{"name": name, "password": password}, &tok)
	return tok.AccessToken, code, err
}

// latencies is a concurrent list of durations.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

// quantile returns the q-quantile (nearest rank) in milliseconds.
func (l *latencies) quantile(q float64) float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return math.NaN()
	}
	s := slices.Clone(l.d)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return float64(s[max(0, min(i, len(s)-1))]) / float64(time.Millisecond)
}

func (l *latencies) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.d)
}

// kindLatencies lists each kind of request's latency, slowest p99 first.
func kindLatencies(m *sync.Map) string {
	type row struct {
		kind string
		l    *latencies
	}
	var rows []row
	m.Range(func(k, v any) bool {
		rows = append(rows, row{k.(string), v.(*latencies)})
		return true
	})
	slices.SortFunc(rows, func(a, b row) int { return -cmpFloat(a.l.quantile(0.99), b.l.quantile(0.99)) })
	var parts []string
	for _, r := range rows {
		parts = append(parts, fmt.Sprintf("%s %s / %s / %s ms (%d)", r.kind,
			fnum(r.l.quantile(0.5), 1), fnum(r.l.quantile(0.99), 1), fnum(r.l.quantile(1), 1), r.l.len()))
	}
	return strings.Join(parts, "; ")
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// codes counts status codes (0: a transport error).
type codes struct {
	mu sync.Mutex
	m  map[int]int
}

func (c *codes) add(code int) {
	c.mu.Lock()
	if c.m == nil {
		c.m = map[int]int{}
	}
	c.m[code]++
	c.mu.Unlock()
}

func (c *codes) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var keys []int
	for k := range c.m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d: %d", k, c.m[k]))
	}
	return strings.Join(parts, ", ")
}

// BenchmarkTeamServer: meshperf server in team mode (the built binary, its
// own process, a SQLite store) while users list, read and submit, a test
// runs at 1,000 rps against nginx and a flood of bad-password logins goes
// on: a good login must answer within 1 s, the users' API requests' p99
// be under 100 ms, the server's RSS stay under 500 MB.
func BenchmarkTeamServer(b *testing.B) {
	s := setup(b)
	b.ReportMetric(0, "ns/op")
	sec := s.section("team", func() *section { return s.teamRun(b) })
	for _, t := range sec.Targets {
		if t.Known {
			metric(b, t.Value, t.Unit)
		}
	}
}

func (s *suite) teamRun(b *testing.B) *section {
	sec := &section{Title: "Team-mode server under load", Figures: [][2]string{}}
	fail := func(format string, a ...any) *section {
		msg := fmt.Sprintf(format, a...)
		b.Errorf("team: %s", msg)
		sec.Params = "not measured"
		sec.Notes = append(sec.Notes, "**failed:** "+msg)
		return sec
	}
	cfg, err := loadTeamConfig()
	if err != nil {
		return fail("%v", err)
	}
	sec.Params = fmt.Sprintf("`meshperf server --auth` (SQLite, --concurrency 2, its own process) for %s: %d users (each: list profiles, results or runs, read a result or profile, now and then store a profile or submit a 1 s run; %s pause between requests), a %.0f rps test it runs against nginx meanwhile, and %d concurrent logins with bad passwords for the admin, from %d source addresses (127.0.0.10 on); the admin logs in from 127.0.0.1 once a second",
		cfg.duration, cfg.users, cfg.think, cfg.rps, cfg.flood, cfg.floodIPs)
	if s.meshperf == "" {
		return fail("no meshperf binary: %s", s.mpErr)
	}
	dir := filepath.Join(s.tmp, "team")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail("%v", err)
	}
	db := filepath.Join(dir, "team.db")
	add := exec.Command(s.meshperf, "--db", db, "user", "add", "root", "--admin", "--password-stdin")
	add.Stdin = strings.NewReader(teamPassword + "\n")
	if out, err := add.CombinedOutput(); err != nil {
		return fail("meshperf user add: %v: %s", err, tail(out, 300))
	}
	port, err := freePort()
	if err != nil {
		return fail("%v", err)
	}
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return fail("%v", err)
	}
	defer logf.Close()
	srv := exec.Command(s.meshperf, "--db", db, "server", "--auth", "--listen", fmt.Sprintf("127.0.0.1:%d", port),
		"--concurrency", "2", "--log-level", "warn")
	srv.Stdout, srv.Stderr = logf, logf
	if err := srv.Start(); err != nil {
		return fail("start the server: %v", err)
	}
	defer func() {
		srv.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { srv.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			srv.Process.Kill()
			<-done
		}
	}()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	local := newTeamAPI(base, "127.0.0.1")
	ctx := context.Background()
	for start := time.Now(); ; time.Sleep(100 * time.Millisecond) {
		if code, _ := local.do(ctx, "GET", "/healthz", "", nil, nil); code == 200 {
			break
		}
		if time.Since(start) > 30*time.Second {
			return fail("the server did not answer /healthz within 30 s")
		}
	}

	// The admin, the users (each with a profile of its own), and their tokens.
	root, code, err := local.login(ctx, "root", teamPassword)
	if err != nil || code != 200 {
		return fail("admin login: %d %v", code, err)
	}
	doc := func(name string, d time.Duration, rps float64, conns int) map[string]any {
		return map[string]any{"name": name, "duration": d.String(),
			"clients": []any{map[string]any{"connections": conns, "rps": rps, "endpoint_urls": []string{nginxRef.url + "/"}}}}
	}
	tokens := make([]string, cfg.users)
	for i := range tokens {
		name := fmt.Sprintf("user%02d", i)
		if code, err := local.do(ctx, "POST", "/api/v1/users", root, map[string]any{"name": name, "password": teamPassword}, nil); err != nil || code != 201 {
			return fail("create %s: %d %v", name, code, err)
		}
		if tokens[i], code, err = local.login(ctx, name, teamPassword); err != nil || code != 200 {
			return fail("%s login: %d %v", name, code, err)
		}
		if code, err := local.do(ctx, "POST", "/api/v1/profiles", tokens[i], doc(name+"-smoke", time.Second, 5, 1), nil); err != nil || code != 201 {
			return fail("%s's profile: %d %v", name, code, err)
		}
	}

	loadBefore := loadAvg()
	pidCPU := func(pid int) float64 {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return math.NaN()
		}
		t, err := procStatCPU(string(b))
		if err != nil {
			return math.NaN()
		}
		return float64(t) / clockTicks()
	}
	skip := othersSkip()
	others := func(pid int) bool { return pid == srv.Process.Pid || skip(pid) }
	selfCPU := func() float64 {
		var ru syscall.Rusage
		if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
			return math.NaN()
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}
	snapBefore, serverBefore, selfBefore, loadStart := cpuSnapshot(), pidCPU(srv.Process.Pid), selfCPU(), time.Now()
	rssOut := make(chan []float64, 1)
	stopRSS := make(chan struct{})
	go sampleRSS(srv.Process.Pid, stopRSS, rssOut)

	// The 1,000 rps test, run by the server.
	var run struct {
		ID string `json:"id"`
	}
	body := map[string]any{"profile_document": doc("team-load", cfg.duration, cfg.rps, 50)}
	if code, err := local.do(ctx, "POST", "/api/v1/runs", root, body, &run); err != nil || code != 202 {
		close(stopRSS)
		return fail("submit the load run: %d %v", code, err)
	}
	loadCtx, stop := context.WithTimeout(ctx, cfg.duration)
	defer stop()
	var wg sync.WaitGroup

	// The flood.
	var flood codes
	for i := range cfg.flood {
		api := newTeamAPI(base, fmt.Sprintf("127.0.0.%d", 10+i%cfg.floodIPs))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; loadCtx.Err() == nil && n < 1_000_000; n++ {
				_, code, err := api.login(loadCtx, "root", fmt.Sprintf("guess %d-%d", i, n))
				if err != nil && loadCtx.Err() != nil {
					return
				}
				flood.add(code)
			}
		}()
	}
	// The users.
	var api latencies
	var apiCodes codes
	var byKind sync.Map // the request's kind → *latencies
	for i, tok := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newTeamAPI(base, "127.0.0.1")
			var resultIDs []string
			submitted := 0
			for n := 0; loadCtx.Err() == nil && n < 1_000_000; n++ {
				var path, method, kind = "", "GET", ""
				var body, out any
				var page struct {
					Results []struct {
						ID string `json:"id"`
					} `json:"results"`
				}
				switch n % 8 {
				case 0, 4:
					path, out, kind = "/api/v1/results?limit=20", &page, "list results"
				case 1:
					path, kind = "/api/v1/profiles", "list profiles"
				case 2:
					path, kind = "/api/v1/runs?limit=20", "list runs"
				case 3, 6:
					if len(resultIDs) > 0 {
						path, kind = "/api/v1/results/"+resultIDs[n%len(resultIDs)], "read a result"
					} else {
						path, kind = fmt.Sprintf("/api/v1/profiles/user%02d-smoke", i), "read a profile"
					}
				case 5:
					path, kind = fmt.Sprintf("/api/v1/profiles/user%02d-smoke", (i+n)%cfg.users), "read a profile"
				case 7:
					method = "POST"
					if submitted < 2 && n%40 == 7 {
						path, body, kind = "/api/v1/runs", map[string]any{"profile": fmt.Sprintf("user%02d-smoke", i)}, "submit a run"
						submitted++
					} else {
						path, body, kind = "/api/v1/profiles", doc(fmt.Sprintf("user%02d-p%d", i, n), time.Second, 5, 1), "store a profile"
					}
				}
				start := time.Now()
				code, err := c.do(loadCtx, method, path, tok, body, out)
				if err != nil && loadCtx.Err() != nil {
					return
				}
				took := time.Since(start)
				api.add(took)
				l, _ := byKind.LoadOrStore(kind, &latencies{})
				l.(*latencies).add(took)
				apiCodes.add(code)
				for _, r := range page.Results {
					if len(resultIDs) < 20 && !slices.Contains(resultIDs, r.ID) {
						resultIDs = append(resultIDs, r.ID)
					}
				}
				select {
				case <-loadCtx.Done():
				case <-time.After(cfg.think):
				}
			}
		}()
	}
	// The admin's good logins, once a second.
	var good latencies
	var goodCodes codes
	admin := newTeamAPI(base, "127.0.0.1")
	tick := time.NewTicker(time.Second)
	for loadCtx.Err() == nil {
		select {
		case <-loadCtx.Done():
		case <-tick.C:
			start := time.Now()
			_, code, _ := admin.login(ctx, "root", teamPassword)
			good.add(time.Since(start))
			goodCodes.add(code)
		}
	}
	tick.Stop()
	wg.Wait()
	wall := time.Since(loadStart).Seconds()
	serverCores := (pidCPU(srv.Process.Pid) - serverBefore) / wall
	clientCores := (selfCPU() - selfBefore) / wall
	othersCores := float64(cpuDelta(snapBefore, cpuSnapshot(), others)) / clockTicks() / wall
	close(stopRSS)
	rss := <-rssOut

	// The load run's figures, once it has ended.
	var ended struct {
		State    string `json:"state"`
		ResultID string `json:"result_id"`
		Error    string `json:"error"`
	}
	for start := time.Now(); time.Since(start) < 60*time.Second; time.Sleep(500 * time.Millisecond) {
		if code, err := local.do(ctx, "GET", "/api/v1/runs/"+run.ID, root, nil, &ended); err == nil && code == 200 &&
			ended.State != "queued" && ended.State != "running" {
			break
		}
	}
	var res struct {
		Achieved struct {
			RPS      float64 `json:"rps"`
			Requests int64   `json:"requests"`
		} `json:"achieved"`
	}
	if ended.ResultID != "" {
		local.do(ctx, "GET", "/api/v1/results/"+ended.ResultID, root, nil, &res)
	}

	peak := math.NaN()
	for _, v := range rss {
		if math.IsNaN(peak) || v > peak {
			peak = v
		}
	}
	goodMax, apiP99 := good.quantile(1)/1000, api.quantile(0.99)
	sec.Figures = append(sec.Figures,
		[2]string{"admin logins during the flood (status: count)", goodCodes.String()},
		[2]string{"admin login latency p50 / max", fmt.Sprintf("%s / %s s", fnum(good.quantile(0.5)/1000, 3), fnum(goodMax, 3))},
		[2]string{"users' API requests", fmt.Sprint(api.len())},
		[2]string{"users' API status: count", apiCodes.String()},
		[2]string{"users' API latency p50 / p90 / p99 / max", fmt.Sprintf("%s / %s / %s / %s ms",
			fnum(api.quantile(0.5), 1), fnum(api.quantile(0.9), 1), fnum(apiP99, 1), fnum(api.quantile(1), 1))},
		[2]string{"users' API latency by request, p50 / p99 / max (count)", kindLatencies(&byKind)},
		[2]string{"flood logins (status: count)", flood.String()},
		[2]string{"the load run", fmt.Sprintf("%s, %.0f rps achieved of %.0f, %d requests %s", ended.State, res.Achieved.RPS, cfg.rps, res.Achieved.Requests, ended.Error)},
		[2]string{"server peak RSS", fmt.Sprintf("%s MB (sampled once a second, %d samples)", fnum(peak, 1), len(rss))},
		[2]string{"CPU, in cores of " + strconv.Itoa(numCPU()), fmt.Sprintf("server %s, this benchmark's clients (users, flood, logins) %s, other processes (not these, not nginx) %s", fnum(serverCores, 2), fnum(clientCores, 2), fnum(othersCores, 2))},
		[2]string{"load average before / after", loadBefore + " / " + loadAvg()},
	)
	sec.Targets = append(sec.Targets,
		target{Name: "good login during the flood, slowest", Unit: "team-good-login-max-s", Value: goodMax, Want: "<= 1 s",
			Known: good.len() > 0, Pass: goodCodes.m[200] == good.len() && goodMax <= 1, Format: "%.3f s"},
		target{Name: "users' API requests p99", Unit: "team-api-p99-ms", Value: apiP99, Want: "< 100 ms",
			Known: api.len() > 0, Pass: apiP99 < 100, Format: "%.1f ms"},
		target{Name: "server peak RSS", Unit: "team-server-rss-MB", Value: peak, Want: "< 500 MB",
			Known: !math.IsNaN(peak), Pass: peak < 500, Format: "%.1f MB"},
	)
	sec.Notes = append(sec.Notes, "a good login passes only if every one of the admin's logins answered 200; the flood's 429s are its lockouts and the bcrypt slots (see docs/security.md)",
		"everything (server, nginx, the users, the flood) shares this machine's cores")
	b.Logf("team: good login max %.3f s, API p99 %.1f ms, RSS peak %.1f MB; flood %s; by request: %s", goodMax, apiP99, peak, flood.String(), kindLatencies(&byKind))
	return sec
}
