package spec

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseSelector(t *testing.T) {
	tests := []struct {
		in      string
		want    map[string]string
		wantErr bool
	}{
		{"", map[string]string{}, false},
		{"zone=a", map[string]string{"zone": "a"}, false},
		{" zone = a , tier=x", map[string]string{"zone": "a", "tier": "x"}, false},
		{"zone", nil, true},
		{"=a", nil, true},
		{"zone=a,zone=b", nil, true},
	}
	for _, tc := range tests {
		got, err := ParseSelector(tc.in)
		if (err != nil) != tc.wantErr || !tc.wantErr && !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseSelector(%q) = %v, %v", tc.in, got, err)
		}
	}
	if s := SelectorString(map[string]string{"zone": "a", "tier": "x"}); s != "tier=x,zone=a" {
		t.Errorf("SelectorString = %q", s)
	}
}

func TestProfileAgents(t *testing.T) {
	doc := `
duration: 10s
agents: {count: 3, on_drop: abort}
clients:
- rps: 100
  endpoint_urls: [http://127.0.0.1:1/]
- rps: 100
  endpoint_urls: [http://127.0.0.1:1/]
  agents: {count: 2, selector: "zone=a"}
`
	p, warnings, err := ParseProfile([]byte(doc))
	if err != nil || len(warnings) > 0 {
		t.Fatalf("ParseProfile: %v %q", err, warnings)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if !p.UsesAgents() || p.ClientAgents(0).Count != 3 || p.ClientAgents(1).Selector != "zone=a" || p.ClientAgents(0).OnDrop != OnDropAbort {
		t.Errorf("agents: %+v, %+v", p.ClientAgents(0), p.ClientAgents(1))
	}
	// Written and read back the same.
	b, err := p.YAML()
	if err != nil {
		t.Fatal(err)
	}
	q, _, err := ParseProfile(b)
	if err != nil || !reflect.DeepEqual(p.Agents, q.Agents) || !reflect.DeepEqual(p.Clients[1].Agents, q.Clients[1].Agents) {
		t.Errorf("round trip: %v\n%s", err, b)
	}
}

func TestProfileAgentsValidation(t *testing.T) {
	tests := []struct {
		doc  string
		want []string
	}{
		{`{"duration":"1s","agents":{},"clients":[{"endpoint_urls":["http://h/"]}]}`, []string{"agents.count: give a count"}},
		{`{"duration":"1s","clients":[{"endpoint_urls":["http://h/"],"agents":{"count":-2,"selector":"x","on_drop":"retry"}}]}`,
			[]string{"clients[0].agents.count: must be >= 0", "clients[0].agents.selector:", "clients[0].agents.on_drop: want continue or abort"}},
		{`{"duration":"1s","clients":[{"endpoint_urls":["http://h/"],"agents":{"count":1}},{"endpoint_urls":["http://h/"]}]}`,
			[]string{"clients[1].agents: required when other clients run on agents"}},
	}
	for _, tc := range tests {
		p, _, err := ParseProfile([]byte(tc.doc))
		if err != nil {
			t.Fatalf("%s: %v", tc.doc, err)
		}
		err = p.Validate()
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %v, want it to say %q", tc.doc, err, w)
			}
		}
	}
	if _, _, err := ParseProfile([]byte(`{"clients":[],"agents":{"count":"many"}}`)); err == nil || !strings.Contains(err.Error(), "agents.count") {
		t.Errorf("a wrong type is not named: %v", err)
	}
}
