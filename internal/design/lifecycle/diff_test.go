package lifecycle

import (
	"strings"
	"testing"
)

func TestUnified(t *testing.T) {
	a := "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nimage: one\nk\n"
	b := "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nimage: two\nk\nl\n"
	got := unified("live", "design", a, b)
	want := "--- live\n+++ design\n@@ -8,5 +8,6 @@\n h\n i\n j\n-image: one\n+image: two\n k\n+l\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got := unified("/dev/null", "x", "", "p\nq\n"); !strings.HasSuffix(got, "@@ -1,0 +1,2 @@\n+p\n+q\n") {
		t.Errorf("a new object:\n%s", got)
	}
}
