package prom

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// Client is a Prometheus API client whose answers are bounded (maxBody),
// that follows no redirect (one could lead past an allow-list), and whose
// errors Reason turns into one line without the remote's text. Both the
// profiles' queries (Collect) and the mesh's traffic metrics
// (internal/meshmetrics) go through it.
type Client struct {
	v1.API
	addr string
	rt   *guardedTransport
}

// NewClient returns a Client of the Prometheus at addr.
func NewClient(addr string) (*Client, error) {
	rt := &guardedTransport{base: http.DefaultTransport}
	c, err := api.NewClient(api.Config{Address: addr, Client: &http.Client{
		Transport:     rt,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}})
	if err != nil {
		return nil, err
	}
	return &Client{API: v1.NewAPI(c), addr: addr, rt: rt}, nil
}

// Reason says in one line why a query failed: the HTTP status of the
// client's last answer (with queries at once, it may be another's) and a
// short class, never what the remote wrote.
func (c *Client) Reason(err error) string {
	return reason(c.addr, int(c.rt.status.Load()), err)
}

// Instant evaluates q at t, within queryTimeout; an error is Reason's
// line.
func (c *Client) Instant(ctx context.Context, q string, t time.Time) (model.Value, error) {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	c.rt.status.Store(0)
	val, _, _, err := c.Query(ctx, q, t, v1.WithTimeout(queryTimeout))
	if err != nil {
		return nil, errors.New(c.Reason(err))
	}
	return val, nil
}
