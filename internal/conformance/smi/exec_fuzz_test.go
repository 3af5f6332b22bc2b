package smi

import "testing"

// The echo client's output is the pod's: any bytes give n responses,
// each with a status code in range or an error.
func FuzzParseClient(f *testing.F) {
	f.Add("[0] StatusCode=200\n[0 body] Hostname=echo-v1-a\n[1] StatusCode=403\n", "boom\n", 3)
	f.Add("[99999999999999999999] StatusCode=200\n", "", 1)
	f.Add("[0] StatusCode=-5\n[0] StatusCode=99999\n", "", 1)
	f.Fuzz(func(t *testing.T, stdout, stderr string, n int) {
		if n < 0 || n > maxCount {
			return
		}
		rs := ParseClient(stdout, stderr, n)
		if len(rs) != n {
			t.Fatalf("%d responses, want %d", len(rs), n)
		}
		for i, r := range rs {
			if r.Code < 0 || r.Code >= 1000 || (r.Code == 0) != (r.Err != "") || len(r.Err) > 320 {
				t.Fatalf("response %d: %+v", i, r)
			}
		}
	})
}
