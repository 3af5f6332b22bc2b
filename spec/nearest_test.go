package spec

import "testing"

func TestNearest(t *testing.T) {
	names := []string{"rps", "connections", "duration", "checkout", "checkout-v2", "cart"}
	for _, tc := range []struct{ in, want string }{
		{"rsp", "rps"},                // a swap of neighbours
		{"conections", "connections"}, // a letter left out
		{"chekout", "checkout"},
		{"CHECKOUT", ""}, // the same name (case ignored) is not a suggestion
		{"durat", ""},    // three edits: not a typo
		{"xyz", ""},
		{"cat", "cart"},
	} {
		if got := Nearest(tc.in, names); got != tc.want {
			t.Errorf("Nearest(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestUnknownFieldsAreWarningsTheCallerCanRefuse(t *testing.T) {
	_, warnings, err := ParseProfile([]byte("clients:\n- endpoint_urls: [http://127.0.0.1/]\n  conections: 3\n"))
	if err != nil || len(warnings) != 1 {
		t.Fatalf("warnings %q, err %v: want one warning", warnings, err)
	}
	if got, want := warnings[0], "clients[0].conections: unknown field (ignored); did you mean connections?"; got != want {
		t.Errorf("warning %q, want %q", got, want)
	}
	if got, want := UnknownFieldError(warnings[0]).Error(), "clients[0].conections: unknown field; did you mean connections?"; got != want {
		t.Errorf("error %q, want %q", got, want)
	}
	p, warnings, err := ParseProfile([]byte("meshperf: {allow_unknown_fields: true}\nclients:\n- endpoint_urls: [http://127.0.0.1/]\n"))
	if err != nil || len(warnings) != 0 || p.Meshperf == nil || !p.Meshperf.AllowUnknownFields {
		t.Errorf("allow_unknown_fields: %+v %q %v", p.Meshperf, warnings, err)
	}
}
