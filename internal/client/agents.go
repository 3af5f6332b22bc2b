package client

import (
	"context"
	"net/http"

	"github.com/meshperf/meshperf/internal/api"
)

// ListAgents lists the agents the server knows (GET /api/v1/agents).
func (c *Client) ListAgents(ctx context.Context) (*api.AgentList, error) {
	var out api.AgentList
	if err := c.do(ctx, http.MethodGet, "/api/v1/agents", nil, "", &out); err != nil {
		return nil, err
	}
	return &out, nil
}
