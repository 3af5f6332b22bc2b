package spec

import (
	"fmt"
	"sort"
	"strings"
)

// Policies for an agent lost in the middle of a distributed run.
const (
	// OnDropContinue lets the run go on with the other agents; the result
	// is marked degraded. The default.
	OnDropContinue = "continue"
	// OnDropAbort stops the run when an agent is lost.
	OnDropAbort = "abort"
)

// AgentSelection asks for load to come from meshperf agents connected to
// the server instead of the server itself: for one client (Client.Agents)
// or for every client (Profile.Agents). The client's rate and connections
// are split across the chosen agents.
type AgentSelection struct {
	// Count is how many agents to use; 0 with a Selector means every
	// agent that matches.
	Count int `json:"count,omitempty"`
	// Selector chooses agents by label: "zone=a,tier=x" (all must match).
	Selector string `json:"selector,omitempty"`
	// OnDrop is what happens when an agent is lost mid-run: "continue"
	// (the default) or "abort".
	OnDrop string `json:"on_drop,omitempty"`
}

// ParseSelector reads a label selector: comma-separated key=value pairs,
// all of which must match. An empty selector matches every agent.
func ParseSelector(s string) (map[string]string, error) {
	out := map[string]string{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" {
			return nil, fmt.Errorf("%q is not key=value", strings.TrimSpace(part))
		}
		if prev, dup := out[k]; dup && prev != v {
			return nil, fmt.Errorf("key %q given twice with different values", k)
		}
		out[k] = v
	}
	return out, nil
}

// SelectorString writes a selector back in key order.
func SelectorString(sel map[string]string) string {
	keys := make([]string, 0, len(sel))
	for k := range sel {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + sel[k]
	}
	return strings.Join(parts, ",")
}

// UsesAgents tells whether any of the profile's load runs on agents.
func (p *Profile) UsesAgents() bool {
	if p.Agents != nil {
		return true
	}
	for i := range p.Clients {
		if p.Clients[i].Agents != nil {
			return true
		}
	}
	return false
}

// ClientAgents is the selection in force for client i: its own, else the
// profile's; nil when the client runs on the server.
func (p *Profile) ClientAgents(i int) *AgentSelection {
	if i >= 0 && i < len(p.Clients) && p.Clients[i].Agents != nil {
		return p.Clients[i].Agents
	}
	return p.Agents
}

// agents checks the agent selections of a profile.
func (v *validator) agents(p *Profile) {
	if p.Agents != nil {
		v.agentSelection("agents", p.Agents)
	}
	some := p.UsesAgents()
	for i := range p.Clients {
		c := &p.Clients[i]
		path := fmt.Sprintf("clients[%d].agents", i)
		if c.Agents != nil {
			v.agentSelection(path, c.Agents)
		} else if some && p.Agents == nil {
			v.bad(path, "required when other clients run on agents (or set agents at the top level for every client)")
		}
	}
}

func (v *validator) agentSelection(path string, a *AgentSelection) {
	if a.Count < 0 {
		v.bad(path+".count", "must be >= 0, got %d", a.Count)
	}
	if a.Count == 0 && strings.TrimSpace(a.Selector) == "" {
		v.bad(path+".count", "give a count of agents, a selector, or both")
	}
	if _, err := ParseSelector(a.Selector); err != nil {
		v.bad(path+".selector", "%v (want key=value,key=value)", err)
	}
	switch a.OnDrop {
	case "", OnDropContinue, OnDropAbort:
	default:
		v.bad(path+".on_drop", "want continue or abort, not %q", a.OnDrop)
	}
}
