package server

import (
	"context"
	"net"
	"net/http"
	"strings"

	"github.com/meshperf/meshperf/internal/agents"
	"github.com/meshperf/meshperf/internal/api"
	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/spec"
)

// Agent defaults (the registry's, internal/agents).
const (
	DefaultAgentHeartbeat     = agents.DefaultHeartbeat
	DefaultAgentSkewTolerance = agents.DefaultSkewTolerance
)

// Agent states, as GET /api/v1/agents shows them.
const (
	AgentIdle         = agents.StateIdle
	AgentBusy         = agents.StateBusy
	AgentDisconnected = agents.StateDisconnected
)

// AgentView is one agent as GET /api/v1/agents lists it.
type AgentView = api.AgentView

// AgentCapacity is what an agent says it can do.
type AgentCapacity = api.AgentCapacity

// AgentList is the body of GET /api/v1/agents.
type AgentList = api.AgentList

// ServeAgents serves the agents' gRPC stream on ln until ctx ends or the
// server is closed. Agents must present Options.AgentToken; with
// Options.AgentTLS the stream is TLS (mutual when it asks for client
// certificates).
func (s *Server) ServeAgents(ctx context.Context, ln net.Listener) error {
	return s.agents.Serve(ctx, ln)
}

func (s *Server) listAgents(w http.ResponseWriter, _ *http.Request) error {
	list := s.agents.List()
	out := AgentList{Agents: make([]AgentView, 0, len(list))}
	for _, a := range list {
		out.Agents = append(out.Agents, AgentView{Name: a.Name, Labels: a.Labels, Version: a.Version,
			Capacity: AgentCapacity{Cores: a.Capacity.Cores, MaxRPS: a.Capacity.MaxRPS}, State: a.State,
			LastHeartbeat: a.LastHeartbeat, ConnectedAt: a.ConnectedAt, Address: a.Address})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// checkAgents refuses, at submission, a run whose agents are not there.
func (s *Server) checkAgents(prof *spec.Profile, plans []*loadgen.Plan) error {
	if !prof.UsesAgents() {
		return nil
	}
	if !s.agents.TakesAgents() {
		return invalid("profile_document.agents", "profile_document.agents: this server takes no agents (start it with --agent-listen and --agent-token)")
	}
	if err := s.agents.Check(prof, plans); err != nil {
		msg := strings.ReplaceAll(err.Error(), "\n", "; ")
		return &APIError{Status: http.StatusUnprocessableEntity, Code: CodeInvalid, Message: msg, Err: err}
	}
	return nil
}
