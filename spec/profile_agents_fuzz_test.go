package spec

import "testing"

// A label selector is user input: parsed or refused with a message, and a
// parsed one prints back to a selector that parses to the same labels.
func FuzzParseSelector(f *testing.F) {
	for _, s := range []string{"zone=a", "zone=a,tier=load", " zone = a ", "=a", "zone=", "a=b=c", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sel, err := ParseSelector(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an error with no message")
			}
			return
		}
		again, err := ParseSelector(SelectorString(sel))
		if err != nil {
			t.Fatalf("%q parsed to %v, whose string %q does not parse: %v", s, sel, SelectorString(sel), err)
		}
		if len(again) != len(sel) {
			t.Fatalf("%q: %v then %v", s, sel, again)
		}
		for k, v := range sel {
			if again[k] != v {
				t.Fatalf("%q: %v then %v", s, sel, again)
			}
		}
	})
}
