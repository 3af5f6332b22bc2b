package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/profiles")

const testCA = `-----BEGIN CERTIFICATE-----
MIIBjjCCATOgAwIBAgIUOtSwLUHhfoXFxBhCpKXMnU2yOAcwCgYIKoZIzj0EAwIw
GzEZMBcGA1UEAwwQbWVzaHBlcmYgdGVzdCBDQTAgFw0yNjExMjEwNTE4MzFaGA8y
MTI2MTAyODA1MTgzMVowGzEZMBcGA1UEAwwQbWVzaHBlcmYgdGVzdCBDQTBZMBMG
ByqGSM49AgEGCCqGSM49AwEHA0IABHO8bKf1x8aq4l/zy+koPyDlMcFtqB0/Nrpg
qDLUa0xutWGjy89PkuU4YGiAroUPqhhK7PM4FU1lrU/J/Sv0+3ijUzBRMB0GA1Ud
DgQWBBQjk4OrfHZh5mptoMxaiBnhm4OYbzAfBgNVHSMEGDAWgBQjk4OrfHZh5mpt
oMxaiBnhm4OYbzAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0kAMEYCIQDI
JQqhW+xTklfbOFeUOiY2FBj/3QCFHrk49Kbexyg5ogIhAKsLfSedB4fjgfKA6Ue1
05a6zfVUJ6SDIElojA7/c0ZQ
-----END CERTIFICATE-----
`

// goodProfiles are the files under testdata/profiles that parse, with what
// they parse to.
var goodProfiles = []struct {
	file string
	want *Profile
}{
	{"smp.yaml", &Profile{
		SMPVersion: "v0.0.1",
		Name:       "productpage baseline",
		Labels:     map[string]string{"team": "shop"},
		Duration:   "60s",
		Clients: []Client{{
			LoadGenerator: "fortio",
			Protocol:      ProtocolHTTP,
			Connections:   16,
			RPS:           1000,
			Headers:       map[string]string{"x-user": "test"},
			EndpointURLs:  []string{"http://productpage.shop:9080/productpage"},
		}},
	}},
	{"reviews.json", &Profile{
		SMPVersion: "v0.0.1",
		ID:         "8a5e6b0e-3f0c-4a8e-9a31-2f4c1c6d7e90",
		Name:       "reviews json",
		Labels:     map[string]string{"team": "shop", "tier": "backend"},
		Duration:   "2m",
		Clients: []Client{{
			LoadGenerator:     "meshperf",
			Protocol:          ProtocolHTTP,
			Connections:       8,
			RPS:               500,
			Headers:           map[string]string{"accept": "application/json"},
			Cookies:           map[string]string{"session": "abc123"},
			Body:              `{"q": 1}`,
			ContentType:       "application/json",
			EndpointURLs:      []string{"http://reviews.shop:9080/reviews/1", "http://reviews.shop:9080/reviews/2"},
			AdditionalOptions: `{"fortio": {"qps_jitter": true}}`,
		}},
	}},
	{"meshery.yaml", &Profile{
		SMPVersion: "v0.0.1",
		ID:         "3c1d2f0a-1111-4c2b-8d9e-000000000001",
		Name:       "istio ingress",
		Labels:     map[string]string{"mesh": "istio"},
		Duration:   "30s",
		Clients: []Client{{
			LoadGenerator:     "meshperf",
			Protocol:          ProtocolHTTP,
			Connections:       4,
			RPS:               200,
			ContentType:       "text/plain",
			EndpointURLs:      []string{"https://ingress.istio.local/"},
			SSLCertificate:    testCA,
			AdditionalOptions: "{}",
			Meshperf: &ClientExtras{
				HTTPVersion:    "2",
				RateShape:      "ramp:50-200/10s",
				ConnectTimeout: "2s",
				SNI:            "ingress.istio.local",
			},
		}},
		Meshperf: &ProfileExtras{SLO: []string{"p99<=100ms,error_rate<1%"}, MeshType: 3},
	}},
	{"multi.yaml", &Profile{
		SMPVersion: "v0.0.1",
		Name:       "shop mix",
		Labels:     map[string]string{"team": "shop", "run": "nightly"},
		Duration:   "1m",
		Clients: []Client{{
			LoadGenerator: "meshperf",
			Protocol:      ProtocolHTTP,
			Connections:   32,
			RPS:           2000,
			Headers:       map[string]string{"user-agent": "meshperf", "x-tenant": "on"},
			Cookies:       map[string]string{"session": "s1"},
			EndpointURLs: []string{
				"http://productpage.shop:9080/productpage",
				"http://productpage.shop:9080/productpage?u=normal",
				"http://productpage.shop:9080/productpage?u=test",
			},
			Meshperf: &ClientExtras{
				RateShape:      "steps:500/10s,1000/10s,2000/40s",
				HTTPVersion:    "h2c",
				Method:         "GET",
				Streams:        4,
				Timeout:        "2s",
				ConnectTimeout: "1s",
				Resolution:     "exact",
			},
		}, {
			LoadGenerator: "native",
			Protocol:      ProtocolHTTP,
			Connections:   8,
			Headers:       map[string]string{"user-agent": "meshperf", "x-tenant": "on"},
			Body:          "{\"rating\": 5,\n \"text\": \"great\"}\n",
			ContentType:   "application/json",
			EndpointURLs:  []string{"https://reviews.shop:9443/reviews/1", "https://reviews.shop:9443/reviews/2"},
			Meshperf: &ClientExtras{
				Method:      "post",
				HTTPVersion: "2",
				Insecure:    true,
				CertFile:    "client.pem",
				KeyFile:     "client.key",
				SNI:         "reviews.shop",
				Resolution:  "200us",
			},
		}},
		Meshperf: &ProfileExtras{
			Warmup:   "10s",
			Requests: 50000,
			SLO:      []string{"p99<=25ms", "error_rate<0.5%,rps>=1900"},
			MeshType: 5,
		},
	}},
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "profiles", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// errorList is every error joined in err, as text.
func errorList(err error) []string {
	if err == nil {
		return nil
	}
	var out []string
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = append(out, errorList(e)...)
		}
		return out
	}
	return []string{err.Error()}
}

func TestParseProfileFiles(t *testing.T) {
	for _, tc := range goodProfiles {
		t.Run(tc.file, func(t *testing.T) {
			got, warnings, err := ParseProfile(readTestdata(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(warnings) > 0 {
				t.Errorf("warnings: %q", warnings)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %s\nwant %s", dump(got), dump(tc.want))
			}
			if err := got.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
			base := strings.TrimSuffix(tc.file, filepath.Ext(tc.file))
			y, err := got.YAML()
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, base+".golden.yaml", y)
			j, err := got.JSON()
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, base+".golden.json", j)
		})
	}
}

func dump(p *Profile) string {
	b, _ := json.Marshal(p)
	return string(b)
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "profiles", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./spec -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test ./spec -update rewrites it):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestParseProfileWarnings(t *testing.T) {
	p, warnings, err := ParseProfile(readTestdata(t, "unknown-fields.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"clients[0].meshperf.color: unknown field (ignored)",
		"clients[0].rsp: unknown field (ignored); did you mean rps?",
		"duraton: unknown field (ignored); did you mean duration?",
		"extra: unknown field (ignored)",
	}
	if !reflect.DeepEqual(warnings, want) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(warnings, "\n"), strings.Join(want, "\n"))
	}
	// rateshape is rate_shape written another way, not an unknown field.
	if p.Clients[0].Meshperf == nil || p.Clients[0].Meshperf.RateShape != "constant" {
		t.Errorf("rateshape not read: %s", dump(p))
	}
}

func TestParseProfileErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string // a file under testdata/profiles, or "=" and the text
		want []string
	}{
		{"wrong types", "bad-types.yaml", []string{
			`clients[0].connections: want an integer, got "ten"`,
			`clients[0].endpoint_urls: want a list of strings, got "http://127.0.0.1:8080/"`,
			`clients[0].headers.x-count: want a string, got 5 (put it in quotes)`,
			`clients[0].internal: want true or false, got "no"`,
			`clients[0].meshperf.insecure: want true or false, got 1`,
			`clients[0].meshperf.streams: want an integer from -2147483648 to 2147483647, got 3000000000`,
			`clients[0].protocol: want a protocol (1 or http, 2 or tcp, 3 or udp, 4 or grpc), got "quic"`,
			`clients[0].rps: want an integer, got 1.5`,
			`duration: want a duration such as "30s", got a list`,
			`labels: want a mapping of names to strings, got a list`,
			`meshperf.requests: want an integer, got "lots"`,
			`smp_version: want a string, got 1 (put it in quotes)`,
		}},
		{"truncated YAML", "bad-truncated.yaml", []string{"invalid YAML: line 4: did not find expected node content"}},
		{"truncated JSON", "bad-truncated.json", []string{"invalid JSON: line 4: unexpected end of input (truncated?)"}},
		{"JSON syntax", "={\n\"clients\": [}\n", []string{"invalid JSON: line 2: invalid character '}' looking for beginning of value"}},
		{"JSON trailing data", `={"clients": []} {}`, []string{"invalid JSON: line 1: more data after the top-level value"}},
		{"YAML syntax", "=clients:\n- rps: 1\n endpoint_urls: []\n", []string{"invalid YAML: line 2: did not find expected key"}},
		{"duplicate key", "=name: a\nname: b\n", []string{`invalid YAML: line 2: key "name" already set in map`}},
		{"aliases", "bad-aliases.yaml", []string{"invalid YAML: document contains excessive aliasing"}},
		{"deep", "bad-deep.yaml", []string{"clients[0].additional_options" + strings.Repeat("[0]", 29) + ": nested deeper than 32 levels"}},
		{"empty", "=", []string{"empty profile"}},
		{"blank", "= \n\t\n", []string{"empty profile"}},
		{"comment only", "=# nothing here\n", []string{"empty profile"}},
		{"null", "=null", []string{"empty profile"}},
		{"list", "=- a\n- b\n", []string{"profile: want a mapping (an SMP test configuration) at the top level, got a list"}},
		{"scalar", "=hello", []string{`profile: want a mapping (an SMP test configuration) at the top level, got "hello"`}},
		{"clients not a list", "=clients: {rps: 1}", []string{"clients: want a list of clients, got a mapping"}},
		{"client not a mapping", "=clients: [http://x/]", []string{`clients[0]: want a mapping, got "http://x/"`}},
		{"same field twice", "=clients:\n- endpoint_urls: [http://a/]\n  endpointUrls: [http://b/]\n", []string{"clients[0].endpoint_urls: the same field as endpointUrls; give it once"}},
		{"null element", "=clients:\n- endpoint_urls: [null]\n", []string{"clients[0].endpoint_urls[0]: want a string, got null"}},
		{"mesh conflict", "=test: {clients: [], meshperf: {mesh_type: 5}}\nmesh: {type: 3}\n", []string{"mesh.type: 3 conflicts with meshperf.mesh_type 5"}},
		{"unknown mesh name", "=mesh: {type: mystery}\nclients: []\n", []string{`mesh.type: want a service mesh type (a number or a name such as ISTIO), got "mystery"`}},
		{"connections range", "=clients: [{connections: 1e10}]", []string{"clients[0].connections: want an integer from -2147483648 to 2147483647, got 1e+10"}},
		{"rps range", `={"clients": [{"rps": 99999999999999999999}]}`, []string{"clients[0].rps: want an integer from -9223372036854775808 to 9223372036854775807, got 99999999999999999999"}},
		{"not a duration", "=duration: true", []string{`duration: want a duration such as "30s", got true`}},
		{"additional_options number", "=clients: [{additional_options: 5}]", []string{"clients[0].additional_options: want a string, got 5 (put it in quotes)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, ok := strings.CutPrefix(tc.in, "=")
			data := []byte(in)
			if !ok {
				data = readTestdata(t, tc.in)
			}
			p, _, err := ParseProfile(data)
			if err == nil {
				t.Fatalf("no error; got %s", dump(p))
			}
			if p != nil {
				t.Errorf("got a profile along with the error")
			}
			if got := errorList(err); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestParseProfileLimits(t *testing.T) {
	manyClients := "clients:\n" + strings.Repeat("- endpoint_urls: [http://127.0.0.1:8080/]\n", MaxProfileClients+1)
	var urls strings.Builder
	urls.WriteString("clients:\n")
	for i := 0; i < 3; i++ {
		urls.WriteString("- endpoint_urls:\n")
		for j := 0; j < 4000; j++ {
			fmt.Fprintf(&urls, "  - http://h/%d\n", j)
		}
	}
	// A big string, then many aliases of it, with enough plain values
	// around them to pass the parser's own alias ratio.
	var bomb strings.Builder
	bomb.WriteString(`body: &b "` + strings.Repeat("x", 100_000) + "\"\nclients: [")
	for bomb.Len() < MaxProfileSize-300 {
		bomb.WriteString(strings.Repeat("*b,", 90) + "x,")
	}
	bomb.WriteString("x]\n")
	tests := []struct {
		name, in, want string
	}{
		{"too large", "name: " + strings.Repeat("x", MaxProfileSize), "profile: 1048582 bytes is more than the limit of 1048576 (1 MiB)"},
		{"too many clients", manyClients, "clients: 1001 clients is more than the limit of 1000"},
		{"too many URLs", urls.String(), "clients[2].endpoint_urls: more than 10000 endpoint URLs in the profile"},
		{"alias expansion", bomb.String(), "profile: more than 524288 values or 4194304 bytes once YAML aliases are expanded"},
		{"YAML nesting", "a: " + strings.Repeat("[", 20_000), "profile: nested deeper than 32 levels"},
		{"JSON nesting", strings.Repeat("[", 20_000), "profile: nested deeper than 32 levels"},
		{"JSON nesting, closed", `{"a":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "}", "a" + strings.Repeat("[0]", 31) + ": nested deeper than 32 levels"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ParseProfile([]byte(tc.in))
			if err == nil || err.Error() != tc.want {
				t.Errorf("err = %v\nwant %s", err, tc.want)
			}
		})
	}
	t.Run("largest allowed", func(t *testing.T) {
		in := "name: " + strings.Repeat("x", MaxProfileSize-len("name: \nclients: []\n")) + "\nclients: []\n"
		if _, _, err := ParseProfile([]byte(in)); err != nil {
			t.Fatal(err)
		}
	})
}

func TestParseProfileForms(t *testing.T) {
	tests := []struct {
		name, in string
		want     *Profile
	}{
		{"protocol names", "clients:\n- protocol: GRPC\n- protocol: '2'\n- protocol: udp\n- protocol: https\n", &Profile{Clients: []Client{
			{Protocol: ProtocolGRPC}, {Protocol: ProtocolTCP}, {Protocol: ProtocolUDP}, {Protocol: ProtocolHTTP},
		}}},
		{"protobuf JSON", `{"smpVersion": "v0.0.1", "clients": [{"rps": "1000", "connections": "4", "protocol": "HTTP", "endpointUrls": ["http://a/"]}]}`,
			&Profile{SMPVersion: "v0.0.1", Clients: []Client{{RPS: 1000, Connections: 4, Protocol: ProtocolHTTP, EndpointURLs: []string{"http://a/"}}}}},
		{"any case, kebab-case", "SMP-Version: v1\nDuration: 5s\nclients:\n- Load-Generator: meshperf\n  RPS: 5\n  EndpointURLs: [http://a/]\n  MeshPerf: {Rate_Shape: constant, HTTPVersion: h2c}\n",
			&Profile{SMPVersion: "v1", Duration: "5s", Clients: []Client{{LoadGenerator: "meshperf", RPS: 5, EndpointURLs: []string{"http://a/"},
				Meshperf: &ClientExtras{RateShape: "constant", HTTPVersion: "h2c"}}}}},
		{"numbers where YAML makes them", "duration: 90\nclients:\n- rps: 1e3\n  meshperf: {http_version: 1.1, resolution: 0, timeout: 1.5}\nmeshperf: {warmup: 5}\n",
			&Profile{Duration: "1m30s", Clients: []Client{{RPS: 1000, Meshperf: &ClientExtras{HTTPVersion: "1.1", Resolution: "0", Timeout: "1.5s"}}},
				Meshperf: &ProfileExtras{Warmup: "5s"}}},
		{"additional options in place", "clients:\n- additional_options: {qps: 10, tags: [a, b]}\n",
			&Profile{Clients: []Client{{AdditionalOptions: `{"qps":10,"tags":["a","b"]}`}}}},
		{"mesh type by name", "mesh: {type: linkerd}\nclients: []\n", &Profile{Meshperf: &ProfileExtras{MeshType: 5}}},
		{"mesh type, short name", "test: {}\nmesh: {type: open_service}\n", &Profile{Meshperf: &ProfileExtras{MeshType: 10}}},
		{"nulls are unset", "name: ~\nlabels:\nclients:\n- headers:\n  meshperf:\n", &Profile{Clients: []Client{{}}}},
		{"empty collections", "labels: {}\nclients:\n- headers: {}\n  endpoint_urls: []\n  meshperf: {}\nmeshperf: {slo: []}\n", &Profile{Clients: []Client{{}}}},
		{"flow YAML, not JSON", "{name: flow, clients: [{rps: 1}]}", &Profile{Name: "flow", Clients: []Client{{RPS: 1}}}},
		{"merge keys", "base: &base {rps: 5}\nclients:\n- <<: *base\n  connections: 2\n", nil},
		{"byte order mark", "\ufeffname: bom\n", &Profile{Name: "bom"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, warnings, err := ParseProfile([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == nil { // merge keys: a warning for base, the merged fields read
				if len(warnings) != 1 || got.Clients[0].RPS != 5 || got.Clients[0].Connections != 2 {
					t.Errorf("got %s, warnings %q", dump(got), warnings)
				}
				return
			}
			if len(warnings) > 0 {
				t.Errorf("warnings: %q", warnings)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %s\nwant %s", dump(got), dump(tc.want))
			}
		})
	}
}

// roundTrip checks that p survives YAML and JSON, and that writing is
// stable.
func roundTrip(t testing.TB, p *Profile) {
	t.Helper()
	want := *p
	if want.SMPVersion == "" {
		want.SMPVersion = ProfileSchemaVersion
	}
	for _, enc := range []struct {
		name string
		fn   func(*Profile) ([]byte, error)
	}{{"YAML", (*Profile).YAML}, {"JSON", (*Profile).JSON}} {
		out, err := enc.fn(p)
		if err != nil {
			t.Fatalf("%s: %v", enc.name, err)
		}
		got, warnings, err := ParseProfile(out)
		if err != nil {
			t.Fatalf("%s does not parse back: %v\n%s", enc.name, err, out)
		}
		if len(warnings) > 0 {
			t.Errorf("%s parses back with warnings %q", enc.name, warnings)
		}
		if !reflect.DeepEqual(got, &want) {
			t.Fatalf("%s round trip:\ngot  %s\nwant %s\n%s", enc.name, dump(got), dump(&want), out)
		}
		again, err := enc.fn(got)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("%s is not stable: %v\n%s\n%s", enc.name, err, out, again)
		}
	}
}

func TestProfileRoundTrip(t *testing.T) {
	for _, tc := range goodProfiles {
		t.Run(tc.file, func(t *testing.T) { roundTrip(t, tc.want) })
	}
	t.Run("example", func(t *testing.T) {
		p, _, err := ParseProfile([]byte(ProfileExample()))
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, p)
	})
	t.Run("empty", func(t *testing.T) { roundTrip(t, &Profile{}) })
	t.Run("client without URLs", func(t *testing.T) { roundTrip(t, &Profile{Clients: []Client{{RPS: 1}}}) })
}

// TestYAMLStrings writes strings YAML could read as something else, or
// cannot write plain, in every place a string goes.
func TestYAMLStrings(t *testing.T) {
	strs := []string{
		"yes", "No", "ON", "off", "y", "n", "true", "False", "null", "Null", "~", "",
		"123", "1.10", "0x1F", "0o17", "017", "1e3", "1_000", "2001-12-14", "2001-12-14t21:59:43.10-05:00", "12:30", "12:30:45", ".inf", "-.Inf", ".NaN", "+1", "-1", ".5",
		" lead", "trail ", "two  spaces", "a: b", "a:", "a #b", "#x", "- x", "-", "? x", ":x", "@x", "`x", "'x", `"x`, "x'y", `x"y`, "%x", "!x", "&x", "*x", "|", ">", "=", "<<",
		"{a}", "[x]", "a,b", "a\\b", "tab\tx", "\x00", "\x01x", "\x7f", "é", "日本", "\u0085", "\u2028", "\ufeff", "\uFFFD", "\U0001F600",
		"a\nb", "a\n", "a\n\n", "\n", "\n\n", "\na", " a\nb", "a\n b", "a \nb", "a\n\nb", "a\r\nb", "a\n\tb", "\ta\nb", "a\n  \n", "a\n# not a comment\n", "- a\n- b", "a\n\n\n",
		testCA, strings.Repeat("long ", 300), strings.Repeat("k", 1500),
	}
	for _, s := range strs {
		t.Run(fmt.Sprintf("%q", s), func(t *testing.T) {
			c := Client{
				Body:         s,
				Headers:      map[string]string{s: s, "x": s},
				EndpointURLs: []string{s, s},
			}
			if s != "" {
				c.Meshperf = &ClientExtras{Method: s}
			}
			roundTrip(t, &Profile{Name: s, Labels: map[string]string{s: "v"}, Clients: []Client{c, c}, Meshperf: &ProfileExtras{SLO: []string{s}}})
		})
	}
}

// TestYAMLRandomStrings round-trips strings drawn from the characters YAML
// treats specially.
func TestYAMLRandomStrings(t *testing.T) {
	alphabet := []rune("ab1 .:-#'\"\\\n\t|>&*!%@`?,[]{}~\r\x00\x7f\u0085\u00a0\u2028\ufeffé")
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 1000; i++ {
		r := make([]rune, rng.IntN(12))
		for j := range r {
			r[j] = alphabet[rng.IntN(len(alphabet))]
		}
		s := string(r)
		roundTrip(t, &Profile{Name: s, Labels: map[string]string{s: s}, Clients: []Client{{Body: s, EndpointURLs: []string{s}}}})
	}
}

func TestYAMLLooks(t *testing.T) {
	p := &Profile{Name: "a b", Labels: map[string]string{"on": "yes", "v": "1.10"}, Clients: []Client{{
		RPS:            1,
		Body:           "line 1\nline 2\n",
		EndpointURLs:   []string{"http://a/?x=1&y=2"},
		SSLCertificate: "",
	}}}
	got, err := p.YAML()
	if err != nil {
		t.Fatal(err)
	}
	want := `smp_version: v0.0.1
name: a b
labels:
  "on": "yes"
  v: "1.10"
clients:
- rps: 1
  body: |
    line 1
    line 2
  endpoint_urls:
  - http://a/?x=1&y=2
`
	if string(got) != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestValidate(t *testing.T) {
	good := func() *Profile {
		return &Profile{
			Duration: "30s",
			Clients:  []Client{{RPS: 100, EndpointURLs: []string{"http://127.0.0.1:8080/"}}},
		}
	}
	tests := []struct {
		name   string
		mutate func(p *Profile)
		want   []string
	}{
		{"good", func(*Profile) {}, nil},
		{"requests instead of duration", func(p *Profile) { p.Duration = ""; p.Meshperf = &ProfileExtras{Requests: 10} }, nil},
		{"every client field", func(p *Profile) {
			p.Clients[0] = Client{
				Protocol: ProtocolHTTP, Connections: 4, RPS: 0, Headers: map[string]string{"X-A": "b"},
				Cookies: map[string]string{"s": "1"}, Body: "{}", ContentType: "application/json",
				EndpointURLs: []string{"https://a:8443/x"}, SSLCertificate: testCA, AdditionalOptions: `{"a": 1}`,
				Meshperf: &ClientExtras{RateShape: "ramp:1-10/5s", HTTPVersion: "h2c", Method: "PUT", Streams: 2, Timeout: "1s",
					ConnectTimeout: "1s", Insecure: true, CertFile: "c.pem", KeyFile: "c.key", SNI: "a.local", Resolution: "100us"},
			}
		}, nil},
		{"no clients", func(p *Profile) { p.Clients = nil }, []string{"clients: at least one client is required"}},
		{"no URLs", func(p *Profile) { p.Clients[0].EndpointURLs = nil }, []string{"clients[0].endpoint_urls: at least one URL is required"}},
		{"no duration", func(p *Profile) { p.Duration = "" }, []string{"duration: required unless meshperf.requests is set"}},
		{"zero duration", func(p *Profile) { p.Duration = "0s" }, []string{"duration: required unless meshperf.requests is set"}},
		{"protocols", func(p *Profile) {
			c := p.Clients[0]
			p.Clients = nil
			for _, proto := range []Protocol{0, 1, 2, 3, 4, 9} {
				c.Protocol = proto
				p.Clients = append(p.Clients, c)
			}
		}, []string{
			"clients[3].protocol: 3 (UDP) is not supported (1 HTTP, 2 TCP and 4 GRPC are)",
			"clients[5].protocol: unknown protocol 9 (want 1 HTTP, 2 TCP, 3 UDP or 4 GRPC)",
		}},
		{"constant needs a rate", func(p *Profile) { p.Clients[0].RPS = 0; p.Clients[0].Meshperf = &ClientExtras{RateShape: "constant"} },
			[]string{"clients[0].meshperf.rate_shape: constant needs rps above 0"}},
		{"ramp needs rates", func(p *Profile) { p.Clients[0].Meshperf = &ClientExtras{RateShape: "ramp"} },
			[]string{"clients[0].meshperf.rate_shape: ramp needs its rates, e.g. ramp:100-1000/30s or steps:100/10s,500/10s"}},
		{"mesh type", func(p *Profile) { p.Meshperf = &ProfileExtras{MeshType: 13} }, []string{"meshperf.mesh_type: unknown service mesh type 13 (SMP defines 0-12)"}},
		{"too many clients", func(p *Profile) {
			p.Clients = make([]Client, MaxProfileClients+1)
			for i := range p.Clients {
				p.Clients[i] = Client{EndpointURLs: []string{"http://a/"}}
			}
		}, []string{"clients: more than 1000 clients"}},
		{"non-HTTP URL for TCP", func(p *Profile) {
			p.Clients[0].Protocol = ProtocolTCP
			p.Clients[0].EndpointURLs = []string{"tcp://a:1"}
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := good()
			tc.mutate(p)
			err := p.Validate()
			if got := errorList(err); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			for _, e := range unjoinAll(err) {
				var fe *FieldError
				if !errors.As(e, &fe) {
					t.Errorf("%v is not a *FieldError", e)
				}
			}
		})
	}
}

func unjoinAll(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

// TestValidateAllAtOnce checks that one pass names every problem, in
// order, with its exact path.
func TestValidateAllAtOnce(t *testing.T) {
	p := &Profile{
		Labels:   map[string]string{"": "x"},
		Duration: "5x",
		Clients: []Client{{
			RPS:          10,
			EndpointURLs: []string{"http://ok/", "ftp://files/", "x", "http://a:99999/", "http://%zz/"},
		}, {
			Protocol:          ProtocolUDP,
			Connections:       -1,
			RPS:               -5,
			Headers:           map[string]string{"bad name": "v", "ok": "a\r\nb"},
			Cookies:           map[string]string{"c": "a;b"},
			ContentType:       "text/plain\n",
			SSLCertificate:    "not a certificate",
			AdditionalOptions: "{nope",
			Meshperf: &ClientExtras{
				RateShape:      "sine:1-2",
				HTTPVersion:    "3",
				Method:         "GE T",
				Streams:        -1,
				Timeout:        "soon",
				ConnectTimeout: "0s",
				CertFile:       "client.pem",
				SNI:            "a b",
				Resolution:     "fine",
			},
		}, {
			EndpointURLs: []string{"http://c/"},
			Meshperf:     &ClientExtras{KeyFile: "k.pem"},
		}},
		Meshperf: &ProfileExtras{Warmup: "1500ms", Requests: -1, SLO: []string{"p99<=20ms", "p98<1s", "p99<=x"}, MeshType: -1},
	}
	want := []string{
		"labels: a label needs a non-empty key",
		"meshperf.requests: must be >= 0",
		"meshperf.warmup: must be whole seconds, got 1.5s",
		`meshperf.slo[1]: objective "p98<1s": unknown metric "p98" (want p50, p75, p90, p95, p99, p99.9, p99.99, max, mean, their service_ forms, error_rate, late_ratio or rps)`,
		`meshperf.slo[2]: objective "p99<=x": "x" is not a duration such as 20ms`,
		"meshperf.mesh_type: unknown service mesh type -1 (SMP defines 0-12)",
		`duration: invalid duration "5x" (want e.g. 30s or 1m30s)`,
		`clients[0].endpoint_urls[1]: invalid URL "ftp://files/": scheme must be http or https`,
		`clients[0].endpoint_urls[2]: invalid URL "x": scheme must be http or https`,
		`clients[0].endpoint_urls[3]: invalid URL "http://a:99999/": port must be 1-65535`,
		`clients[0].endpoint_urls[4]: invalid URL "http://%zz/": invalid URL escape "%zz"`,
		"clients[1].protocol: 3 (UDP) is not supported (1 HTTP, 2 TCP and 4 GRPC are)",
		"clients[1].connections: must be >= 0 (0 means the default), got -1",
		"clients[1].rps: must be >= 0 (0 means as fast as possible), got -5",
		`clients[1].headers["bad name"]: invalid header name "bad name"`,
		"clients[1].headers.ok: value must not contain a line break or NUL",
		"clients[1].cookies.c: value must not contain ';', a line break or NUL",
		"clients[1].content_type: must not contain a line break or NUL",
		"clients[1].endpoint_urls: at least one URL is required",
		"clients[1].ssl_certificate: no PEM certificate found (want the CA certificate's text, -----BEGIN CERTIFICATE----- ...)",
		"clients[1].additional_options: not valid JSON text",
		`clients[1].meshperf.rate_shape: unknown rate shape "sine:1-2" (want constant, ramp:FROM-TO[/DURATION] or steps:RATE/DURATION,...)`,
		`clients[1].meshperf.http_version: unknown HTTP version "3" (want 1.1, 2 or h2c)`,
		`clients[1].meshperf.method: invalid method "GE T"`,
		"clients[1].meshperf.streams: must be >= 0 (0 means 1), got -1",
		`clients[1].meshperf.timeout: invalid duration "soon" (want e.g. 30s or 1m30s)`,
		"clients[1].meshperf.connect_timeout: must be above 0 (leave it out for the default)",
		"clients[1].meshperf.key_file: required with cert_file (a client certificate needs both)",
		`clients[1].meshperf.sni: invalid server name "a b"`,
		`clients[1].meshperf.resolution: want auto, exact or a duration such as 200us, not "fine"`,
		"clients[2].meshperf.cert_file: required with key_file (a client certificate needs both)",
	}
	got := errorList(p.Validate())
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n%s\n\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestProfileExample(t *testing.T) {
	ex := ProfileExample()
	p, warnings, err := ParseProfile([]byte(ex))
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) > 0 {
		t.Errorf("warnings: %q", warnings)
	}
	if err := p.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	if got := p.Clients[0].EndpointURLs; len(got) != 1 || got[0] != "http://127.0.0.1:8080/" {
		t.Errorf("endpoint_urls = %q, want meshperf echo's address", got)
	}
	// Every field is shown (some commented out), each with a comment.
	for _, typ := range []reflect.Type{reflect.TypeFor[Profile](), reflect.TypeFor[ProfileExtras](), reflect.TypeFor[Client](), reflect.TypeFor[ClientExtras]()} {
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			found := false
			for _, line := range strings.Split(ex, "\n") {
				line = strings.TrimLeft(line, " #-")
				if strings.HasPrefix(line, name+":") && strings.Contains(line, " # ") {
					found = true
				}
			}
			if !found {
				t.Errorf("%s.%s (%s) is not in the example with a comment", typ.Name(), f.Name, name)
			}
		}
	}
	if !strings.Contains(ex, "mesh_type:") {
		t.Error("the example does not show mesh_type")
	}
}

func TestProtocolJSON(t *testing.T) {
	tests := []struct {
		in      string
		want    Protocol
		wantErr bool
	}{
		{"1", ProtocolHTTP, false},
		{`"grpc"`, ProtocolGRPC, false},
		{`"TCP"`, ProtocolTCP, false},
		{`"3"`, ProtocolUDP, false},
		{`"quic"`, 0, true},
		{`true`, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			var p Protocol
			err := json.Unmarshal([]byte(tc.in), &p)
			if (err != nil) != tc.wantErr || p != tc.want {
				t.Errorf("got %v, %v; want %v (error %v)", p, err, tc.want, tc.wantErr)
			}
		})
	}
	if b, _ := json.Marshal(Client{Protocol: ProtocolGRPC}); !strings.Contains(string(b), `"protocol":4`) {
		t.Errorf("protocol written as %s, want the number", b)
	}
	if s := Protocol(7).String(); s != "Protocol(7)" {
		t.Errorf("String() = %q", s)
	}
}
