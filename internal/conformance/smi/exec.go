package smi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"
)

// PodSender sends requests from a pod of the echo app, by running its
// client in the pod (pods/exec), as the Gateway API suite's mesh tests do
// (sigs.k8s.io/gateway-api/conformance/utils/echo): "client URL
// --count=N" prints each response's fields as "[i] Key=Value" and the
// echo server's body as "[i body] Key=Value" lines.
type PodSender struct {
	CS                   kubernetes.Interface
	Config               *rest.Config
	Namespace, Pod       string
	Container            string
	RequestTimeoutSecond int // each request's timeout in the client (default 2)
}

// maxClientOutput bounds what one exec reads (a response is under 1 KiB;
// 200 of them are well below it).
const maxClientOutput = 4 << 20

// maxCount bounds one exec's requests.
const maxCount = 1000

// Args are the echo client's arguments for r.
func (r Request) Args(timeoutSeconds int) ([]string, error) {
	if r.Count < 1 || r.Count > maxCount {
		return nil, fmt.Errorf("%w: count %d: want 1..%d", ErrInput, r.Count, maxCount)
	}
	path := r.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	args := []string{"client", "http://" + r.Host + path, "--count=" + strconv.Itoa(r.Count), "--timeout=" + strconv.Itoa(timeoutSeconds) + "s"}
	if r.Method != "" {
		args = append(args, "--method="+r.Method)
	}
	keys := make([]string, 0, len(r.Headers))
	for k := range r.Headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "-H", k+":"+r.Headers[k])
	}
	return args, nil
}

// Send runs the client in the pod; requests that failed (the client ends
// non-zero then) are responses with their error, not an error of Send.
func (p PodSender) Send(ctx context.Context, r Request) ([]Response, error) {
	timeout := p.RequestTimeoutSecond
	if timeout <= 0 {
		timeout = 2
	}
	args, err := r.Args(timeout)
	if err != nil {
		return nil, err
	}
	container := p.Container
	if container == "" {
		container = "echo"
	}
	req := p.CS.CoreV1().RESTClient().Post().Resource("pods").Namespace(p.Namespace).Name(p.Pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: container, Command: args, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	ex, err := remotecommand.NewSPDYExecutor(p.Config, "POST", req.URL())
	if err != nil {
		return nil, fmt.Errorf("exec in pod %s/%s: %w", p.Namespace, p.Pod, err)
	}
	stdout := &limited{max: maxClientOutput}
	stderr := &limited{max: 64 << 10}
	err = ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: stdout, Stderr: stderr})
	var exit utilexec.CodeExitError
	if err != nil && !errors.As(err, &exit) {
		return nil, fmt.Errorf("exec %q in pod %s/%s: %w", strings.Join(args, " "), p.Namespace, p.Pod, err)
	}
	if stdout.over {
		return nil, fmt.Errorf("exec in pod %s/%s: the client wrote more than %d bytes", p.Namespace, p.Pod, maxClientOutput)
	}
	return ParseClient(stdout.String(), stderr.String(), r.Count), nil
}

var (
	clientLine = regexp.MustCompile(`^\[(\d+)( body| error)?\] (.*)$`)
	// logLine is a line the client logs (Istio's log package:
	// "TIME\tLEVEL\tMESSAGE"), e.g. its summary of the requests that failed.
	logLine = regexp.MustCompile(`^\d{4}-\d\d-\d\dT[0-9:.]+Z\t[a-z]+\t(.*)$`)
)

// ParseClient reads the echo client's output of n requests (Istio's
// pkg/test/echo; testdata/ holds a real run's): the client writes
// "[i] StatusCode=C" for the status it received and "[i body] LINE" for
// each line of the body. Each request's status code comes from the
// client's own line, never from the body (an echo server behind a proxy
// that refused the request still says "StatusCode=200" in its body; a
// body is the server's word), and the hostname of the pod that answered
// from the echo server's body. A request with no status got no response.
// A request that got no response (refused connection, reset, timeout;
// a status such as 403 is a response) fails the client's whole batch:
// it then writes no request's lines, only a logged summary on stdout
// ("fatal Error 2/2 requests had errors; first error: ...", its
// cmd/client and server/forwarder; testdata/client-unresolved.txt), so
// every request of the batch reads as not answered, with that summary,
// which gives how many failed, as its error. An "[i error] ERR" line of
// the request's own, then the last line on stderr, come before it.
func ParseClient(stdout, stderr string, n int) []Response {
	out := make([]Response, n)
	errs := make([]string, n)
	summary := ""
	for _, line := range strings.Split(stdout, "\n") {
		line = strings.TrimRight(line, "\r")
		if l := logLine.FindStringSubmatch(line); l != nil {
			summary = strings.TrimSpace(l[1])
			continue
		}
		m := clientLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		i, err := strconv.Atoi(m[1])
		if err != nil || i < 0 || i >= n {
			continue
		}
		key, value, _ := strings.Cut(m[3], "=")
		switch {
		case m[2] == " error":
			errs[i] = strings.TrimSpace(m[3])
		case m[2] == "" && key == "StatusCode":
			if c, err := strconv.Atoi(strings.TrimSpace(value)); err == nil && c > 0 && c < 1000 {
				out[i].Code = c
			}
		case m[2] == " body" && key == "Hostname":
			out[i].Hostname = strings.TrimSpace(value)
		}
	}
	why := "no response"
	if s := strings.TrimSpace(stderr); s != "" {
		lines := strings.Split(s, "\n")
		last := strings.TrimSpace(lines[len(lines)-1])
		if l := logLine.FindStringSubmatch(last); l != nil {
			last = strings.TrimSpace(l[1])
		}
		why = "no response: " + last
	} else if summary != "" {
		why = "no response: " + summary
	}
	for i := range out {
		if out[i].Code != 0 {
			continue
		}
		out[i].Err = why
		if errs[i] != "" {
			out[i].Err = "no response: " + errs[i]
		}
		if len(out[i].Err) > 300 {
			out[i].Err = out[i].Err[:300] + "..."
		}
	}
	return out
}

// limited keeps up to max bytes and notes that more came.
type limited struct {
	bytes.Buffer
	max  int
	over bool
}

func (l *limited) Write(p []byte) (int, error) {
	if room := l.max - l.Len(); room < len(p) {
		l.over = true
		if room > 0 {
			l.Buffer.Write(p[:room])
		}
		return len(p), nil
	}
	return l.Buffer.Write(p)
}
