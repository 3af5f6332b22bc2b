package sqlstore

import (
	"errors"
	"testing"

	"github.com/meshperf/meshperf/store"
)

func TestRebind(t *testing.T) {
	tests := []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`a = ? AND b IN (?, ?)`, `a = $1 AND b IN ($2, $3)`},
		{`x = '?' AND "we?rd" = ?`, `x = '?' AND "we?rd" = $1`},
		{`x = 'it''s?' AND y = ?`, `x = 'it''s?' AND y = $1`},
	}
	for _, tt := range tests {
		pg := Dialect{Numbered: true}
		if got := pg.rebind(tt.in); got != tt.want {
			t.Errorf("rebind(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := (&Dialect{}).rebind(tt.in); got != tt.in {
			t.Errorf("rebind without numbering changed %q to %q", tt.in, got)
		}
	}
}

func TestCursor(t *testing.T) {
	for _, c := range []struct {
		start int64
		id    string
	}{{0, "a"}, {-5, "x.y"}, {1741000000123456789, "0195f0c2a1b2c3d4e5f6"}} {
		start, id, err := decodeCursor(encodeCursor(c.start, c.id))
		if err != nil || start != c.start || id != c.id {
			t.Errorf("cursor (%d, %q) came back as (%d, %q), %v", c.start, c.id, start, id, err)
		}
	}
	for _, bad := range []string{"", "!!", "MTIz", "eC55"} {
		if _, _, err := decodeCursor(bad); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("decodeCursor(%q): %v, want ErrInvalid", bad, err)
		}
	}
}

// Cursors come back from clients: decoding any string must not panic, and
// what decodes must encode back to an equivalent cursor.
func FuzzCursor(f *testing.F) {
	f.Add(encodeCursor(1741000000123456789, "0195f0c2a1b2c3d4e5f6"))
	f.Add("MTIz")
	f.Fuzz(func(t *testing.T, c string) {
		start, id, err := decodeCursor(c)
		if err != nil {
			return
		}
		s2, id2, err := decodeCursor(encodeCursor(start, id))
		if err != nil || s2 != start || id2 != id {
			t.Errorf("%q decodes to (%d, %q), which does not round-trip", c, start, id)
		}
	})
}
