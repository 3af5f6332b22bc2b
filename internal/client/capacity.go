package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/meshperf/meshperf/internal/api"
	"github.com/meshperf/meshperf/store"
)

// SubmitCapacity queues a capacity search; the run it answers has the
// search's id, and its events carry the steps.
func (c *Client) SubmitCapacity(ctx context.Context, req api.CapacityRequest) (*store.Run, error) {
	body, err := marshal(req)
	if err != nil {
		return nil, err
	}
	var run store.Run
	if err := c.do(ctx, http.MethodPost, "/api/v1/capacity", body, "", &run); err != nil {
		return nil, err
	}
	return &run, nil
}

// GetCapacity returns a capacity search: the search, its run and its
// report.
func (c *Client) GetCapacity(ctx context.Context, id string) (*api.CapacityView, error) {
	var v api.CapacityView
	if err := c.do(ctx, http.MethodGet, "/api/v1/capacity/"+url.PathEscape(id), nil, "", &v); err != nil {
		return nil, err
	}
	return &v, nil
}
