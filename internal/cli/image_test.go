package cli_test

import (
	"debug/elf"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshperf/meshperf/internal/cli"
)

// meshperf image: flag mistakes and a dynamically linked binary are usage
// errors (exit 2) saying what to do; this meshperf is packed when static.
func TestImageCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "img.tar")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no --out", []string{"image"}, "--out is required"},
		{"bad format", []string{"image", "--out", out, "--format", "zip"}, `--format "zip": want oci or docker`},
		{"dynamic binary", []string{"image", "--out", out, "--binary", "/bin/sh", "--tag", "sh:1"}, "build it with CGO_ENABLED=0"},
		{"--binary without --tag", []string{"image", "--out", out, "--binary", "/bin/sh"}, "--tag is required with --binary"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := meshperf(t, tc.args...)
			if code != cli.ExitUsage || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut, cli.ExitUsage, tc.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s left behind after a failure", out)
			}
		})
	}

	// This test's meshperf: static or not decides the outcome.
	f, err := elf.Open(binary)
	if err != nil {
		t.Fatal(err)
	}
	static := true
	for _, p := range f.Progs {
		static = static && p.Type != elf.PT_INTERP
	}
	f.Close()
	_, errOut, code := meshperf(t, "image", "--out", out, "--tag", "example.com/meshperf:test")
	if static {
		st, err := os.Stat(out)
		if code != 0 || err != nil || st.Size() < 1<<20 || !strings.Contains(errOut, "wrote image example.com/meshperf:test (sha256:") {
			t.Errorf("static meshperf: exit %d, stderr %q, file %v %v", code, errOut, st, err)
		}
	} else if code != cli.ExitUsage || !strings.Contains(errOut, "CGO_ENABLED=0") {
		t.Errorf("dynamic meshperf: exit %d, stderr %q; want %d naming CGO_ENABLED=0", code, errOut, cli.ExitUsage)
	}
}
