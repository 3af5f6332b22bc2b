package spec

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseProfile checks that no input makes ParseProfile panic, and that
// whatever it reads is written as YAML and JSON that read back the same.
// Seeds: every file under testdata/profiles, the example, and the corpus
// under testdata/fuzz/FuzzParseProfile.
func FuzzParseProfile(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "profiles", "*"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed files: %v", err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(ProfileExample()))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, _, err := ParseProfile(data)
		if err != nil {
			if p != nil {
				t.Fatalf("a profile along with the error %v", err)
			}
			return
		}
		_ = p.Validate()
		roundTrip(t, p)
	})
}
