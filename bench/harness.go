//go:build bench

package bench

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// config is the suite's settings, read from the environment.
type config struct {
	runs         int
	dur          time.Duration
	conns        int
	openRPS      float64
	memRPS       float64
	short, long  time.Duration
	memPeers     []string
	memTol       float64
	peers        map[string]bool // nil: all
	wrkThreads   []int
	report       string
	meshperfBin  string
	meshperfArgs []string
	meshperfEnv  []string
	fortioBin    string
	nginxBin     string
	quietWait    time.Duration
}

func envString(k, def string) string {
	if v := strings.TrimSpace(os.Getenv(k)); v != "" {
		return v
	}
	return def
}

func envList(k, def string) []string {
	var out []string
	for _, s := range strings.Split(envString(k, def), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func loadConfig(root string) (config, error) {
	var c config
	var errs []error
	intv := func(k string, def int) int {
		v, err := strconv.Atoi(envString(k, strconv.Itoa(def)))
		if err != nil || v <= 0 {
			errs = append(errs, fmt.Errorf("%s: want a positive integer", k))
			return def
		}
		return v
	}
	floatv := func(k string, def float64) float64 {
		v, err := strconv.ParseFloat(envString(k, strconv.FormatFloat(def, 'f', -1, 64)), 64)
		if err != nil || v < 0 {
			errs = append(errs, fmt.Errorf("%s: want a number >= 0", k))
			return def
		}
		return v
	}
	durv := func(k string, def time.Duration) time.Duration {
		v, err := time.ParseDuration(envString(k, def.String()))
		if err != nil || v < time.Second {
			errs = append(errs, fmt.Errorf("%s: want a Go duration of at least 1s", k))
			return def
		}
		return v.Round(time.Second)
	}
	c.runs = intv("BENCH_RUNS", 5)
	c.dur = durv("BENCH_DURATION", 10*time.Second)
	c.conns = intv("BENCH_CONNS", 50)
	c.openRPS = floatv("BENCH_OPEN_RPS", 20000)
	c.memRPS = floatv("BENCH_MEM_RPS", 10000)
	c.short = durv("BENCH_SHORT", 30*time.Second)
	c.long = durv("BENCH_LONG", 300*time.Second)
	c.memPeers = envList("BENCH_MEM_PEERS", "meshperf")
	c.memTol = floatv("BENCH_MEM_TOLERANCE", 0.05)
	if p := envList("BENCH_PEERS", ""); len(p) > 0 {
		c.peers = map[string]bool{}
		for _, s := range p {
			c.peers[s] = true
		}
	}
	for _, s := range envList("BENCH_WRK_THREADS", "1,2") {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 || n > c.conns {
			errs = append(errs, fmt.Errorf("BENCH_WRK_THREADS: %q: want 1..connections", s))
			continue
		}
		c.wrkThreads = append(c.wrkThreads, n)
	}
	c.report = envString("BENCH_REPORT", filepath.Join("bench", "out", "latest.md"))
	if !filepath.IsAbs(c.report) {
		c.report = filepath.Join(root, c.report)
	}
	c.meshperfBin = os.Getenv("BENCH_MESHPERF")
	c.meshperfArgs = strings.Fields(os.Getenv("BENCH_MESHPERF_ARGS"))
	c.meshperfEnv = strings.Fields(os.Getenv("BENCH_MESHPERF_ENV"))
	c.fortioBin = os.Getenv("BENCH_FORTIO")
	if c.fortioBin == "" {
		c.fortioBin = filepath.Join(root, "bench", ".bin", "fortio")
		if _, err := os.Stat(c.fortioBin); err != nil {
			if p, err := exec.LookPath("fortio"); err == nil {
				c.fortioBin = p
			}
		}
	}
	if d, err := time.ParseDuration(envString("BENCH_QUIET_WAIT", "15s")); err != nil || d < 0 {
		errs = append(errs, errors.New("BENCH_QUIET_WAIT: want a Go duration"))
	} else {
		c.quietWait = d
	}
	c.nginxBin = os.Getenv("BENCH_NGINX")
	if c.nginxBin == "" {
		c.nginxBin = "/usr/sbin/nginx"
		if p, err := exec.LookPath("nginx"); err == nil {
			c.nginxBin = p
		}
	}
	return c, errors.Join(errs...)
}

// wantPeer says whether the comparisons include the tool.
func (c config) wantPeer(tool string) bool { return c.peers == nil || c.peers[tool] }

// repoRoot finds the module root above the test's working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod above %s", dir)
		}
	}
}

// clockTicks is USER_HZ, the unit of /proc CPU times.
var clockTicks = sync.OnceValue(func() float64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err == nil {
		if v, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64); err == nil && v > 0 {
			return v
		}
	}
	return 100
})

// ---- nginx ----------------------------------------------------------------

// nginx is a private nginx: one worker, its files in a temp dir.
type nginx struct {
	dir    string
	port   int
	url    string
	h2url  string // the same content over h2c (prior knowledge)
	tlsURL string // the same content over TLS (HTTP/1.1, or h2 by ALPN)
	cmd    *exec.Cmd
	done   chan struct{}
	stderr bytes.Buffer
}

const nginxConf = `# written by meshperf's bench suite
worker_processes 1;
daemon off;
master_process on;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events {
    worker_connections 4096;
}
http {
    access_log off;
    client_body_temp_path %[1]s/client_body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    # Keep connections for the whole run, so no tool pays for reconnecting
    # every 1000 requests (nginx's default) and the figures are about the
    # request path.
    keepalive_requests 100000000;
    keepalive_timeout 75s;
    server {
        listen 127.0.0.1:%[2]d;
        location / {
            default_type text/plain;
            return 200 "hello\n";
        }
    }
    # The same over h2c (HTTP/2 with prior knowledge), for the HTTP/2
    # comparison with h2load.
    server {
        listen 127.0.0.1:%[3]d http2;
        location / {
            default_type text/plain;
            return 200 "hello\n";
        }
    }
    # The same over TLS (ECDSA P-256 certificate, nginx's default
    # ciphers), HTTP/1.1 or h2 by ALPN, for the HTTPS comparisons.
    server {
        listen 127.0.0.1:%[4]d ssl http2;
        ssl_certificate %[1]s/cert.pem;
        ssl_certificate_key %[1]s/key.pem;
        location / {
            default_type text/plain;
            return 200 "hello\n";
        }
    }
}
`

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startNginx starts nginx on a free loopback port and waits until it answers.
func startNginx(bin, dir string) (*nginx, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		n, err := tryStartNginx(bin, dir)
		if err == nil {
			return n, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func tryStartNginx(bin, dir string) (*nginx, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	h2port, err := freePort()
	if err != nil {
		return nil, err
	}
	tlsPort, err := freePort()
	if err != nil {
		return nil, err
	}
	if err := writeSelfSigned(dir); err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(nginxConf, dir, port, h2port, tlsPort)), 0o644); err != nil {
		return nil, err
	}
	// -e sends the errors nginx logs before reading its config to the temp
	// dir too, so nothing under /var is touched.
	n := &nginx{dir: dir, port: port, url: fmt.Sprintf("http://127.0.0.1:%d/", port), h2url: fmt.Sprintf("http://127.0.0.1:%d/", h2port),
		tlsURL: fmt.Sprintf("https://127.0.0.1:%d/", tlsPort), done: make(chan struct{})}
	n.cmd = exec.Command(bin, "-p", dir+"/", "-c", conf, "-e", filepath.Join(dir, "error.log"))
	n.cmd.Stdout = &n.stderr
	n.cmd.Stderr = &n.stderr
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := n.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start nginx: %v", err)
	}
	go func() { n.cmd.Wait(); close(n.done) }()

	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-n.done:
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			return nil, fmt.Errorf("nginx exited at start: %s %s", strings.TrimSpace(n.stderr.String()), strings.TrimSpace(string(log)))
		default:
		}
		resp, err := client.Get(n.url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				client.CloseIdleConnections()
				if len(n.workers()) == 0 {
					n.stop()
					return nil, errors.New("nginx answers but no worker process was found")
				}
				return n, nil
			}
		}
		if time.Now().After(deadline) {
			n.stop()
			return nil, fmt.Errorf("nginx did not answer on %s: %v", n.url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// writeSelfSigned writes a self-signed ECDSA P-256 certificate for
// 127.0.0.1 and its key to dir/cert.pem and dir/key.pem (the clients do
// not verify it).
func writeSelfSigned(dir string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
}

// workers lists the pids of the master's children.
func (n *nginx) workers() []int {
	master := n.cmd.Process.Pid
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		if pp, err := procStatPPID(string(b)); err == nil && pp == master {
			pids = append(pids, pid)
		}
	}
	return pids
}

// cpuSeconds is the CPU time of nginx's master and workers so far. Workers
// that exit between two readings are lost, which does not happen in a run
// (nginx keeps its one worker).
func (n *nginx) cpuSeconds() float64 {
	var ticks int64
	for _, pid := range append([]int{n.cmd.Process.Pid}, n.workers()...) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		if t, err := procStatCPU(string(b)); err == nil {
			ticks += t
		}
	}
	return float64(ticks) / clockTicks()
}

// stop asks nginx to stop fast (SIGTERM) and kills its process group if
// it has not exited within five seconds.
func (n *nginx) stop() {
	if n == nil || n.cmd == nil || n.cmd.Process == nil {
		return
	}
	n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(5 * time.Second):
		syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
		<-n.done
	}
}

// ---- machine --------------------------------------------------------------

// cpuSnapshot maps every pid to its CPU ticks, reaped children included.
func cpuSnapshot() map[int]int64 {
	m := map[int]int64{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		if t, err := procStatTotal(string(b)); err == nil {
			m[pid] = t
		}
	}
	return m
}

// othersSkip leaves out this test process (its reaped children are the
// clients) and nginx; everything else on the machine is "others".
func othersSkip() func(int) bool {
	skip := map[int]bool{os.Getpid(): true}
	if nginxRef != nil {
		skip[nginxRef.cmd.Process.Pid] = true
		for _, w := range nginxRef.workers() {
			skip[w] = true
		}
	}
	return func(pid int) bool { return skip[pid] }
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// machineInfo describes the machine and the tools' versions.
func machineInfo(c config, root string) [][2]string {
	first := func(name string, args ...string) string {
		cmd := exec.Command(name, args...)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		s := strings.TrimSpace(string(out))
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			s = s[:i]
		}
		if s == "" && err != nil {
			return "unavailable: " + err.Error()
		}
		return s
	}
	model := "?"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := "?"
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if l, _, ok := strings.Cut(string(b), "\n"); ok {
			mem = strings.Join(strings.Fields(l)[1:], " ")
		}
	}
	return [][2]string{
		{"date", time.Now().UTC().Format(time.RFC3339)},
		{"nproc", first("nproc") + fmt.Sprintf(" (runtime.NumCPU %d)", runtime.NumCPU())},
		{"cpu", model},
		{"memory", mem},
		{"kernel", first("uname", "-srm")},
		{"load average at start", loadAvg()},
		{"go", first("go", "version")},
		{"nginx", first(c.nginxBin, "-v")},
		{"wrk", first("wrk", "-v")},
		{"fortio", first(c.fortioBin, "version")},
	}
}

// ---- runs -----------------------------------------------------------------

// peer is one way of running one tool.
type peer struct {
	name string // shown in the report: "wrk-t2", "fortio", "meshperf"
	tool string // "wrk", "fortio" or "meshperf"
	bin  string
	env  []string // added to the environment, KEY=VALUE
	args func(url, jsonFile string, d time.Duration) []string
	// disabled holds why the peer cannot run (missing binary, failed build).
	disabled string
}

// runResult is one run of one peer.
type runResult struct {
	Peer     string  `json:"peer"`
	Run      int     `json:"run"`
	OK       bool    `json:"ok"`
	Err      string  `json:"error,omitempty"`
	Cmd      string  `json:"cmd"`
	Wall     float64 `json:"wall_s"`
	RPS      float64 `json:"rps"`
	Requests int64   `json:"requests"`
	Errors   int64   `json:"errors"`
	Non2xx   int64   `json:"non_2xx"`
	ToolDur  float64 `json:"tool_duration_s"`
	CPUUser  float64 `json:"cpu_user_s"`
	CPUSys   float64 `json:"cpu_sys_s"`
	MaxRSSMB float64 `json:"max_rss_mb"`
	// RSSMB samples the client's resident set every second (MB).
	RSSMB    []float64 `json:"rss_mb,omitempty"`
	NginxCPU float64   `json:"nginx_cpu_s"`
	// Others is the CPU, in cores, that every other process on the machine
	// (neighbours, kernel threads) used during the run.
	Others float64 `json:"others_cores"`
	// Background is the same in the second before the run, nginx idle.
	Background float64 `json:"background_cores"`
	// LatP50Ms and SvcP50Ms are meshperf's median corrected latency (open
	// loop) and median service time, in ms; 0 when the tool gives none.
	LatP50Ms float64 `json:"latency_p50_ms,omitempty"`
	SvcP50Ms float64 `json:"service_time_p50_ms,omitempty"`
}

func (r runResult) cpu() float64 { return r.CPUUser + r.CPUSys }

// cpuPerMReq is client CPU seconds per million completed requests.
func (r runResult) cpuPerMReq() float64 {
	if r.Requests == 0 {
		return 0
	}
	return r.cpu() / float64(r.Requests) * 1e6
}

func (r runResult) clientCores() float64 { return ratio(r.cpu(), r.Wall) }
func (r runResult) nginxCores() float64  { return ratio(r.NginxCPU, r.Wall) }

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func tail(b []byte, n int) string {
	s := strings.TrimSpace(string(b))
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return strings.Join(strings.Fields(s), " ")
}

// quietThreshold is the load of other processes, in cores, above which a
// run is said to have been taken on a busy machine.
const quietThreshold = 0.25

// background measures the CPU other processes use over one second, in
// cores, waiting up to wait (in one-second steps) for it to drop under
// quietThreshold. Per-process times are used rather than /proc/stat, whose
// tick sampling under-reads timer-driven load such as a paced client.
func background(wait time.Duration) float64 {
	deadline := time.Now().Add(wait)
	for {
		skip := othersSkip()
		a := cpuSnapshot()
		time.Sleep(time.Second)
		busy := float64(cpuDelta(a, cpuSnapshot(), skip)) / clockTicks()
		if busy < quietThreshold || !time.Now().Before(deadline) {
			return busy
		}
	}
}

// runOnce runs p for d against url and measures it. The process is killed
// if it runs a minute past d.
func runOnce(p peer, url string, d time.Duration, tmp string, run int, quietWait time.Duration) runResult {
	res := runResult{Peer: p.name, Run: run}
	if p.disabled != "" {
		res.Err = p.disabled
		return res
	}
	res.Background = background(quietWait)
	jsonFile := filepath.Join(tmp, fmt.Sprintf("%s-%d.json", p.name, run))
	os.Remove(jsonFile)
	args := p.args(url, jsonFile, d)
	res.Cmd = strings.TrimSpace(strings.Join(p.env, " ") + " " + filepath.Base(p.bin) + " " + strings.Join(args, " "))

	ctx, cancel := context.WithTimeout(context.Background(), d+time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	cmd.Dir = tmp
	if len(p.env) > 0 {
		cmd.Env = append(os.Environ(), p.env...)
	}
	cmd.WaitDelay = 5 * time.Second

	skip := othersSkip()
	snap0 := cpuSnapshot()
	n0 := nginxRef.cpuSeconds()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		res.Err = "start: " + err.Error()
		return res
	}
	stopSampling := make(chan struct{})
	sampled := make(chan []float64, 1)
	go sampleRSS(cmd.Process.Pid, stopSampling, sampled)
	werr := cmd.Wait()
	res.Wall = time.Since(start).Seconds()
	close(stopSampling)
	res.RSSMB = <-sampled
	n1 := nginxRef.cpuSeconds()
	res.Others = float64(cpuDelta(snap0, cpuSnapshot(), skip)) / clockTicks() / res.Wall
	res.NginxCPU = n1 - n0
	if ps := cmd.ProcessState; ps != nil {
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			res.CPUUser = time.Duration(ru.Utime.Nano()).Seconds()
			res.CPUSys = time.Duration(ru.Stime.Nano()).Seconds()
			res.MaxRSSMB = float64(ru.Maxrss) / 1024 // KiB on Linux
		}
	}

	var tr toolResult
	var perr error
	switch p.tool {
	case "wrk":
		tr, perr = parseWrk(stdout.String())
	case "fortio":
		b, err := os.ReadFile(jsonFile)
		if err != nil {
			perr = fmt.Errorf("fortio wrote no json: %v", err)
		} else {
			tr, perr = parseFortio(b)
		}
	case "meshperf":
		tr, perr = parseMeshperf(stdout.Bytes())
	case "h2load":
		tr, perr = parseH2load(stdout.String())
	default:
		perr = fmt.Errorf("unknown tool %q", p.tool)
	}
	// meshperf exits 1 when an objective is broken, with its report
	// printed; no objective is set here, but accept it as a finished run.
	exitOK := werr == nil || (p.tool == "meshperf" && cmd.ProcessState != nil && cmd.ProcessState.ExitCode() == 1)
	switch {
	case ctx.Err() != nil:
		res.Err = fmt.Sprintf("killed after %s: %s", d+time.Minute, tail(stderr.Bytes(), 300))
	case !exitOK:
		res.Err = fmt.Sprintf("%v: %s", werr, tail(append(stderr.Bytes(), stdout.Bytes()...), 300))
	case perr != nil:
		res.Err = fmt.Sprintf("%v; stderr: %s", perr, tail(stderr.Bytes(), 300))
	default:
		res.OK = true
	}
	res.RPS, res.Requests, res.Errors, res.Non2xx, res.ToolDur = tr.RPS, tr.Requests, tr.Errors, tr.Non2xx, tr.Duration
	res.LatP50Ms, res.SvcP50Ms = tr.LatencyP50Ms, tr.ServiceP50Ms
	return res
}

// sampleRSS reads the process's VmRSS once a second until stop is closed.
func sampleRSS(pid int, stop <-chan struct{}, out chan<- []float64) {
	var s []float64
	path := fmt.Sprintf("/proc/%d/status", pid)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-stop:
			out <- s
			return
		case <-t.C:
			if b, err := os.ReadFile(path); err == nil {
				if kib, ok := vmRSSKiB(string(b)); ok {
					s = append(s, float64(kib)/1024)
				}
			}
		}
	}
}

// nginxRef is the suite's nginx, set up by the first benchmark.
var nginxRef *nginx

// secs formats d as whole seconds for wrk, which reads "10s" but not "1m30s".
func secs(d time.Duration) string {
	return strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10) + "s"
}

func wrkPeer(bin string, threads, conns int) peer {
	return peer{
		name: fmt.Sprintf("wrk-t%d", threads), tool: "wrk", bin: bin,
		args: func(url, _ string, d time.Duration) []string {
			return []string{"-t" + strconv.Itoa(threads), "-c" + strconv.Itoa(conns), "-d" + secs(d), "--latency", url}
		},
	}
}

func fortioPeer(bin string, qps float64, conns int) peer {
	return peer{
		name: "fortio", tool: "fortio", bin: bin,
		args: func(url, jsonFile string, d time.Duration) []string {
			return []string{"load", "-qps", strconv.FormatFloat(qps, 'f', -1, 64), "-c", strconv.Itoa(conns),
				"-t", d.String(), "-json", jsonFile, "-quiet", url}
		},
	}
}

// meshperfPeer runs meshperf under name; extra goes after the suite's
// arguments (BENCH_MESHPERF_ARGS, then a variant's own, so the variant's win).
func meshperfPeer(name, bin string, rps float64, conns int, extra, env []string) peer {
	return peer{
		name: name, tool: "meshperf", bin: bin, env: env,
		args: func(url, _ string, d time.Duration) []string {
			a := []string{"run", url, "--rps", strconv.FormatFloat(rps, 'f', -1, 64), "-c", strconv.Itoa(conns),
				"-d", d.String(), "--output", "json"}
			return append(a, extra...)
		},
	}
}

func numCPU() int { return runtime.NumCPU() }
