package report

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"sigs.k8s.io/yaml"

	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/spec/smp"
)

// smpMessage compiles the official SMP .proto files (testdata/real/smp,
// from service-mesh-performance/service-mesh-performance) with protoc into a
// descriptor set and returns the descriptor of message name ("smp.X").
func smpMessage(t *testing.T, name string) protoreflect.MessageDescriptor {
	t.Helper()
	protoc, err := exec.LookPath("protoc")
	if err != nil {
		t.Fatalf("protoc is needed to compile the official SMP proto (apt-get install protobuf-compiler): %v", err)
	}
	out := filepath.Join(t.TempDir(), "smp.pb")
	cmd := exec.Command(protoc, "-I", filepath.Join("testdata", "real", "smp"), "-I", "/usr/include",
		"--include_imports", "--descriptor_set_out="+out, "protos/service_mesh_performance.proto")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("protoc: %v\n%s", err, b)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(raw, &set); err != nil {
		t.Fatal(err)
	}
	files, err := protodesc.NewFiles(&set)
	if err != nil {
		t.Fatal(err)
	}
	d, err := files.FindDescriptorByName(protoreflect.FullName(name))
	if err != nil {
		t.Fatal(err)
	}
	return d.(protoreflect.MessageDescriptor)
}

// strictRead reads data as the official message, refusing unknown fields.
func strictRead(md protoreflect.MessageDescriptor, data []byte) (*dynamicpb.Message, error) {
	m := dynamicpb.NewMessage(md)
	return m, protojson.UnmarshalOptions{DiscardUnknown: false}.Unmarshal(data, m)
}

func smpFixtures(t *testing.T) map[string]*spec.Result {
	t.Helper()
	out := map[string]*spec.Result{
		"open (hdr)":   recorded(baseRun()),
		"closed (hdr)": recorded(closedRun()),
	}
	for name, file := range map[string]string{
		"nighthawk fortio format": "nighthawk-medium.fortio.gold.json",
		"meshery stored result":   "meshery-stored-result.json",
	} {
		data, err := os.ReadFile(filepath.Join("testdata", "real", file))
		if err != nil {
			t.Fatal(err)
		}
		r, err := ParseOtherResult(data)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		out[name] = r
	}
	return out
}

// TestSMPStrictExportPassesOfficialProto: the smp-strict export of every
// kind of result is read by the official proto with unknown fields
// refused, and carries the figures of the one percentile list; the default
// smp form (with its meshperf block) is not, which is why both exist.
func TestSMPStrictExportPassesOfficialProto(t *testing.T) {
	md := smpMessage(t, "smp.PerformanceTestResult")
	for name, r := range smpFixtures(t) {
		t.Run(name, func(t *testing.T) {
			b, err := SMPResultStrict(r, SMPMeta{EnvID: "env-1", MeshConfigID: "mc-1"})
			if err != nil {
				t.Fatal(err)
			}
			m, err := strictRead(md, b)
			if err != nil {
				t.Fatalf("official proto refuses the strict export: %v\n%s", err, b)
			}
			lat := m.Get(md.Fields().ByName("latencies_ms")).Message()
			main := r.Latency
			if main == nil {
				main = r.ServiceTime
			}
			for field, p := range map[string]float64{"p50": 50, "p90": 90, "p99": 99, "max": 100} {
				want, _ := main.Value(p)
				got := lat.Get(lat.Descriptor().Fields().ByName(protoreflect.Name(field))).Float()
				if got != want {
					t.Errorf("latenciesMs.%s = %v, want %v (the result's list)", field, got, want)
				}
			}
			if got := m.Get(md.Fields().ByName("env_id")).String(); got != "env-1" {
				t.Errorf("envId %q", got)
			}
			y, err := SMPResult(r, SMPMeta{})
			if err != nil {
				t.Fatal(err)
			}
			j, err := yaml.YAMLToJSON(y)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := strictRead(md, j); err == nil || !strings.Contains(err.Error(), "meshperf") {
				t.Errorf("the extended smp form should fail a strict reader on its meshperf block, got %v", err)
			}
		})
	}
}

// TestSMPOfficialJSONRoundTrip: an SMP result written by protobuf's own JSON
// encoder (lowerCamelCase, RFC 3339 timestamps) with every field set is
// read, and written back (strict form) equal to the original message; the
// extended form keeps every id too.
func TestSMPOfficialJSONRoundTrip(t *testing.T) {
	md := smpMessage(t, "smp.PerformanceTestResult")
	src := []byte(`{"smpVersion": "v0.0.1", "id": "res-42", "labels": {"team": "shop"},
	 "startTime": "2024-05-01T10:00:00Z", "endTime": "2024-05-01T10:01:00Z",
	 "latenciesMs": {"min": 0.4, "average": 1.9, "p50": 1.5, "p90": 3.2, "p99": 8.75, "max": 40},
	 "actualQps": 998.5, "detailsUri": "https://example.org/r/42", "testId": "t-1", "meshConfigId": "mc-7", "envId": "env-3"}`)
	orig, err := strictRead(md, src)
	if err != nil {
		t.Fatal(err)
	}
	official, err := protojson.Marshal(orig) // protobuf's own spelling
	if err != nil {
		t.Fatal(err)
	}
	r, err := smp.ParseResult(official)
	if err != nil {
		t.Fatal(err)
	}
	if r.SMP == nil || *r.SMP != (spec.SMPRefs{ID: "res-42", TestID: "t-1", MeshConfigID: "mc-7", EnvID: "env-3", DetailsURI: "https://example.org/r/42"}) {
		t.Errorf("ids %+v", r.SMP)
	}
	r.ID = "" // as an import into a store does: the SMP id stays in r.SMP
	b, err := SMPResultStrict(r, SMPMeta{})
	if err != nil {
		t.Fatal(err)
	}
	back, err := strictRead(md, b)
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if !proto.Equal(orig, back) {
		t.Errorf("round trip differs:\n got %s\nwant %s", b, official)
	}
	// The extended form, read again, keeps them as well.
	y, err := SMPResult(r, SMPMeta{})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := smp.ParseResult(y)
	if err != nil {
		t.Fatal(err)
	}
	if r2.SMP == nil || *r2.SMP != *r.SMP {
		t.Errorf("extended form ids %+v, want %+v", r2.SMP, r.SMP)
	}
}

// TestSMPMeshWrapper: Meshery's mesh: {type: 3} (or its name) is read and
// written back as the same wrapper in the extended form.
func TestSMPMeshWrapper(t *testing.T) {
	doc := `{"smp_version": "v0.0.1", "mesh": {"type": "ISTIO"}, "latencies_ms": {"p50": 1, "p90": 2, "p99": 3, "max": 4}, "actual_qps": 10}`
	r, err := smp.ParseResult([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if r.SMP == nil || r.SMP.MeshType != 3 {
		t.Fatalf("mesh type %+v, want 3", r.SMP)
	}
	y, err := SMPResult(r, SMPMeta{})
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]any
	if err := yaml.Unmarshal(y, &top); err != nil {
		t.Fatal(err)
	}
	if m, ok := top["mesh"].(map[string]any); !ok || m["type"] != float64(3) {
		t.Errorf("mesh wrapper %v, want {type: 3}", top["mesh"])
	}
	if _, err := smp.ParseResult([]byte(strings.Replace(doc, `"ISTIO"`, `99`, 1))); err == nil || !strings.Contains(err.Error(), "mesh.type") {
		t.Errorf("unknown mesh type: got %v, want an error naming mesh.type", err)
	}
}

// TestSMPOfficialJSONProfile: a PerformanceTestConfig in protobuf's JSON
// form (enum names, int64 as strings, lowerCamelCase) is a profile.
func TestSMPOfficialJSONProfile(t *testing.T) {
	md := smpMessage(t, "smp.PerformanceTestConfig")
	src := []byte(`{"smpVersion": "v0.0.1", "id": "p-1", "name": "shop", "labels": {"team": "shop"}, "duration": "30s",
	 "clients": [{"loadGenerator": "meshperf", "protocol": "PROTOCOL_HTTP", "connections": 4, "rps": "10",
	  "headers": {"X-A": "1"}, "contentType": "text/plain", "body": "hi", "endpointUrls": ["http://127.0.0.1:9080/"]}]}`)
	m, err := strictRead(md, src)
	if err != nil {
		t.Fatal(err)
	}
	official, err := protojson.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(official), `"PROTOCOL_HTTP"`) || !strings.Contains(string(official), `"rps":"10"`) {
		t.Fatalf("protojson did not write enum names and int64 strings: %s", official)
	}
	p, warnings, err := spec.ParseProfile(official)
	if err != nil {
		t.Fatalf("%v (warnings %v)\n%s", err, warnings, official)
	}
	c := p.Clients[0]
	if p.Name != "shop" || p.Duration != "30s" || c.Protocol != spec.ProtocolHTTP || c.RPS != 10 || c.Connections != 4 ||
		len(c.EndpointURLs) != 1 || c.Headers["X-A"] != "1" || c.Body != "hi" || len(warnings) != 0 {
		t.Errorf("profile %+v client %+v warnings %v", p, c, warnings)
	}
	if err := p.Validate(); err != nil {
		t.Error(err)
	}
}

// TestSMPFloatStrings: protobuf's JSON readers accept doubles as strings;
// so does the import, and refuses what is not a number.
func TestSMPFloatStrings(t *testing.T) {
	r, err := smp.ParseResult([]byte(`{"latenciesMs": {"p50": "1.5", "p90": "2", "p99": "3", "max": "4"}, "actualQps": "12.5"}`))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := r.ServiceTime.Value(50); v != 1.5 || r.Achieved.RPS != 12.5 {
		t.Errorf("p50 %v rps %v", v, r.Achieved.RPS)
	}
	if _, err := smp.ParseResult([]byte(`{"latenciesMs": {"p50": "fast"}, "actualQps": 1}`)); err == nil {
		t.Error("a word as p50 was accepted")
	}
	if _, err := smp.ParseResult([]byte(`{"latenciesMs": {"p50": -1}, "actualQps": 1}`)); err == nil || !strings.Contains(err.Error(), "p50") {
		t.Errorf("negative p50: %v", err)
	}
}
