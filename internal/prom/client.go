package prom

import (
	"net/http"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
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

// Addr is the Prometheus the client reads.
func (c *Client) Addr() string { return c.addr }

// Reason says in one line why a query failed: the HTTP status of the
// client's last answer (with queries at once, it may be another's) and a
// short class, never what the remote wrote.
func (c *Client) Reason(err error) string {
	return reason(c.addr, int(c.rt.status.Load()), err)
}

// QueryTimeout is how long one query may take.
const QueryTimeout = queryTimeout
