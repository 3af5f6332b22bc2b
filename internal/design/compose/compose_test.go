package compose

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/meshperf/meshperf/internal/design"
)

func TestConvertThreeServices(t *testing.T) {
	d, err := Convert(t.Context(), "testdata/shop.yaml", Options{Name: "shop", Namespace: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(); err != nil {
		t.Fatalf("converted design does not validate: %v", err)
	}
	var refs []string
	for _, r := range d.Resources {
		refs = append(refs, r.Ref())
	}
	want := []string{"persistentvolumeclaim/cache-data", "configmap/api-conf", "deployment.apps/api", "service/api",
		"deployment.apps/cache", "service/cache", "deployment.apps/front", "service/front"}
	if !slices.Equal(refs, want) {
		t.Fatalf("resources %q, want %q", refs, want)
	}
	byRef := map[string]map[string]any{}
	for _, r := range d.Resources {
		byRef[r.Ref()] = r.Object
	}
	front := byRef["deployment.apps/front"]
	if got := design.Get(front, "spec", "replicas"); got != int64(2) {
		t.Errorf("front replicas %v, want 2", got)
	}
	ctr := design.Get(front, "spec", "template", "spec", "containers").([]any)[0].(map[string]any)
	if got := design.Get(ctr, "resources", "limits"); got.(map[string]any)["cpu"] != "500m" || got.(map[string]any)["memory"] != "67108864" {
		t.Errorf("front limits %v, want cpu 500m memory 67108864 (Compose counts 64M in MiB)", got)
	}
	if env := ctr["env"].([]any)[0].(map[string]any); env["name"] != "UPSTREAM" || env["value"] != "http://api:9090" {
		t.Errorf("front env %v", env)
	}
	if args := ctr["args"].([]any); !slices.Equal(args, []any{"echo", "--listen", ":8080"}) {
		t.Errorf("front args %v", args)
	}
	sp := design.Get(byRef["service/front"], "spec", "ports").([]any)[0].(map[string]any)
	if sp["port"] != int64(80) || sp["targetPort"] != int64(8080) {
		t.Errorf("front service port %v, want 80 -> 8080", sp)
	}
	if sp := design.Get(byRef["service/api"], "spec", "ports").([]any)[0].(map[string]any); sp["port"] != int64(9090) {
		t.Errorf("api service (from expose) port %v, want 9090", sp)
	}
	api := design.Get(byRef["deployment.apps/api"], "spec", "template", "spec").(map[string]any)
	if v := api["volumes"].([]any)[0].(map[string]any); design.Get(v, "configMap", "name") != "api-conf" {
		t.Errorf("api volumes %v, want the api-conf ConfigMap", v)
	}
	if got := design.Get(byRef["configmap/api-conf"], "data", "content"); got != "delay=1ms\n" {
		t.Errorf("config content %q", got)
	}
	actr := api["containers"].([]any)[0].(map[string]any)
	if p := design.Get(actr, "readinessProbe", "periodSeconds"); p != int64(5) {
		t.Errorf("api readiness probe period %v, want 5 (from the healthcheck)", p)
	}
	cache := design.Get(byRef["deployment.apps/cache"], "spec", "template", "spec", "volumes").([]any)[0].(map[string]any)
	if design.Get(cache, "persistentVolumeClaim", "claimName") != "cache-data" {
		t.Errorf("cache volume %v, want the claim cache-data", cache)
	}
	g := design.BuildGraph(d.Resources, d.Namespace)
	for _, e := range []design.Edge{
		{From: "service/front", To: "deployment.apps/front", Why: "selects its pods"},
		{From: "deployment.apps/cache", To: "persistentvolumeclaim/cache-data", Why: "mounts"},
		{From: "deployment.apps/api", To: "configmap/api-conf", Why: "mounts"},
	} {
		if !slices.Contains(g.Edges, e) {
			t.Errorf("graph lacks %v; has %v", e, g.Edges)
		}
	}
}

// TestConvertReportsWhatKubernetesLacks: every feature without a
// counterpart is named in the report with its service and field.
func TestConvertReportsWhatKubernetesLacks(t *testing.T) {
	d, err := Convert(t.Context(), "testdata/lacking.yaml", Options{Name: "lacking"})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, n := range d.Report {
		lines = append(lines, n.String())
	}
	report := strings.Join(lines, "\n")
	for _, want := range []string{
		"service web: volumes ", // the bind mount
		"service web: depends_on: not converted: Kubernetes starts pods in no order; db (service_healthy)",
		"service web: devices: not converted",
		"service web: network_mode: not converted",
		"service web: ulimits: not converted",
		"service web: env_file ",
		"service web: environment FROM_HOST: not converted",
		"service web: build: not converted: the image nginx:1.27 is used as it is",
		"service db: build: not converted: the service has no image",
		"service worker: links: not converted",
		"service worker: restart: restart: no not converted",
		"secret dbpass: not converted",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	var refs []string
	for _, r := range d.Resources {
		refs = append(refs, r.Ref())
	}
	if want := []string{"deployment.apps/web", "service/web", "deployment.apps/worker"}; !slices.Equal(refs, want) {
		t.Errorf("resources %q, want %q", refs, want)
	}
}

// TestConvertReadsNothingElse: configs outside the file's directory are
// refused, and the process environment is not read.
func TestConvertReadsNothingElse(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "secret.conf")
	if err := os.WriteFile(outside, []byte("top secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "link.conf")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ok.conf"), []byte("fine"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MESHPERF_TEST_LEAK", "leaked")
	compose := `services:
  a:
    image: busybox
    environment:
      X: "${MESHPERF_TEST_LEAK:-unset}"
      Y: "${GIVEN}"
    configs: [abs, link, ok]
configs:
  abs: {file: ` + outside + `}
  link: {file: ./link.conf}
  ok: {file: ./ok.conf}
`
	path := filepath.Join(dir, "compose.yaml")
	if err := os.WriteFile(path, []byte(compose), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := Convert(t.Context(), path, Options{Name: "x", Env: map[string]string{"GIVEN": "given"}})
	if err != nil {
		t.Fatal(err)
	}
	var cms []string
	for _, r := range d.Resources {
		if r.Kind() == "ConfigMap" {
			cms = append(cms, r.Name()+"="+design.Get(r.Object, "data", "content").(string))
		}
		if r.Kind() == "Deployment" {
			env := design.Get(r.Object, "spec", "template", "spec", "containers").([]any)[0].(map[string]any)["env"].([]any)
			got := []string{}
			for _, e := range env {
				got = append(got, e.(map[string]any)["name"].(string)+"="+e.(map[string]any)["value"].(string))
			}
			if want := []string{"X=unset", "Y=given"}; !slices.Equal(got, want) {
				t.Errorf("env %q, want %q (the process environment is not read)", got, want)
			}
		}
	}
	if !slices.Equal(cms, []string{"ok=fine"}) {
		t.Errorf("config maps %q, want only ok=fine", cms)
	}
	n := 0
	for _, note := range d.Report {
		if strings.Contains(note.Reason, "outside the Compose file's directory") {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d notes say a config was outside the directory, want 2 (abs, link): %v", n, d.Report)
	}
}

func TestConvertBadInput(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"not yaml", "services: [", "compose.yaml"},
		{"unknown field", "services:\n  a:\n    image: x\n    bogus: 1\n", "bogus"},
		{"too big", strings.Repeat("#", MaxComposeBytes+1), "more than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "compose.yaml")
			if err := os.WriteFile(path, []byte(tc.body), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Convert(t.Context(), path, Options{Name: "x"})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func FuzzConvert(f *testing.F) {
	for _, p := range []string{"testdata/shop.yaml", "testdata/lacking.yaml"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ConvertBytes(t.Context(), filepath.Join(dir, "compose.yaml"), data, Options{Name: "fuzz"})
		if err != nil {
			return
		}
		if err := d.Validate(); err != nil {
			t.Fatalf("a converted design does not validate: %v", err)
		}
	})
}

// TestConvertInlineReadsNoFile: a Compose file given inline (the API's
// import) reads no file at all, not even one in the server's own working
// directory or an absolute path, and says so in the report.
func TestConvertInlineReadsNoFile(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret.conf")
	if err := os.WriteFile(secret, []byte("top secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(filepath.Dir(secret))
	compose := `services:
  a:
    image: busybox
    env_file: ` + secret + `
    configs: [abs, rel, inline]
configs:
  abs: {file: ` + secret + `}
  rel: {file: ./secret.conf}
  inline: {content: "given"}
`
	d, err := ConvertInline(t.Context(), []byte(compose), Options{Name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	var cms []string
	for _, r := range d.Resources {
		if r.Kind() == "ConfigMap" {
			cms = append(cms, r.Name()+"="+design.Get(r.Object, "data", "content").(string))
		}
		if b, _ := r.Object["data"].(map[string]any); b != nil && strings.Contains(b["content"].(string), "secret") {
			t.Errorf("%s holds the file's content", r.Ref())
		}
	}
	if !slices.Equal(cms, []string{"inline=given"}) {
		t.Errorf("config maps %q, want only inline=given", cms)
	}
	var notRead []string
	for _, note := range d.Report {
		if strings.Contains(note.Reason, "not read") {
			notRead = append(notRead, note.Source+" "+note.Field)
		}
	}
	if len(notRead) != 3 {
		t.Errorf("report names %d files not read (%q), want 3: env_file, abs, rel; report %v", len(notRead), notRead, d.Report)
	}
}

// TestConvertWrongTypesAreErrors: compose-go's loader type-asserts some
// values before its schema check and panicked on them (CI's fuzzer found
// a config's "target: null"); each is an error naming the file instead.
func TestConvertWrongTypesAreErrors(t *testing.T) {
	dir := t.TempDir()
	for _, doc := range []string{
		"services:\n a:\n  image: x\n  configs: [{target: null}]\n",
		"services:\n a:\n  image: x\n  secrets: [{target: 7}]\n",
		"services:\n a:\n  image: x\n  env_file: [{path: 1}]\n",
	} {
		path := filepath.Join(dir, "compose.yaml")
		d, err := ConvertBytes(t.Context(), path, []byte(doc), Options{Name: "wrong"})
		if err == nil {
			t.Errorf("%q converted to %d resources; want an error", doc, len(d.Resources))
			continue
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("%q: error %q does not name the file", doc, err)
		}
	}
}
