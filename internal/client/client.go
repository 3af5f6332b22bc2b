// Package client is a small Go client of meshperf's HTTP API (see
// internal/server), sending and reading the contract's types (internal/api):
// runs and their live events, results, profiles and logins. API errors come
// back as *Error, decoded from the JSON error body.
package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/meshperf/meshperf/internal/api"
	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/store"
)

// RunRequest is the body of POST /api/v1/runs. SubmitRun also takes a
// ProfileDocument in YAML, and sends it as JSON.
type RunRequest = api.RunRequest

// Client calls one meshperf server. Its methods are safe for concurrent use
// except SetToken and Refresher, which are set before use.
type Client struct {
	base  string
	token string
	hc    *http.Client
	// Refresher, when set, is called once when a request is refused as
	// unauthenticated (401); it returns a new access token and the request
	// is sent again with it.
	Refresher func(ctx context.Context) (string, error)
}

// New returns a client of the server at baseURL (http://host:port), sending
// token as the bearer token when not empty. httpClient nil means a client
// without a timeout: calls end with their context, and event streams last.
func New(baseURL, token string, httpClient *http.Client) *Client {
	if httpClient == nil {
		httpClient = &http.Client{}
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), token: token, hc: httpClient}
}

// BaseURL is the server's URL as given to New, without a trailing slash.
func (c *Client) BaseURL() string { return c.base }

// SetToken replaces the bearer token.
func (c *Client) SetToken(token string) { c.token = token }

// Error is an error the API answered with (its error body and status).
type Error = api.Error

// UnreachableError is a server that could not be reached.
type UnreachableError struct {
	URL string
	Err error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("server %s does not answer: %v", e.URL, e.Err)
}
func (e *UnreachableError) Unwrap() error { return e.Err }

// do sends a request and decodes a 2xx JSON answer into out (unless nil).
// A 401 is retried once with a token from Refresher.
func (c *Client) do(ctx context.Context, method, path string, body []byte, contentType string, out any) error {
	resp, err := c.send(ctx, method, path, body, contentType)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil || resp.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	return nil
}

// send sends a request and returns a 2xx response, whose body the caller
// closes; other statuses become *Error.
func (c *Client) send(ctx context.Context, method, path string, body []byte, contentType string) (*http.Response, error) {
	resp, err := c.sendOnce(ctx, method, path, body, contentType)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusUnauthorized && c.Refresher != nil && !strings.HasPrefix(path, "/api/v1/auth/") {
		resp.Body.Close()
		tok, rerr := c.Refresher(ctx)
		if rerr != nil {
			return nil, rerr
		}
		c.token = tok
		if resp, err = c.sendOnce(ctx, method, path, body, contentType); err != nil {
			return nil, err
		}
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		return nil, decodeError(resp)
	}
	return resp, nil
}

func (c *Client) sendOnce(ctx context.Context, method, path string, body []byte, contentType string) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, fmt.Errorf("server URL %q: %w", c.base, err)
	}
	if body != nil {
		if contentType == "" {
			contentType = "application/json"
		}
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, &UnreachableError{URL: c.base, Err: err}
	}
	return resp, nil
}

func decodeError(resp *http.Response) error {
	var b api.ErrorBody
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err := json.Unmarshal(data, &b); err != nil || b.Error == nil {
		b.Error = &Error{Message: strings.TrimSpace(string(data))}
		if len(b.Error.Message) > 200 || b.Error.Message == "" {
			b.Error.Message = ""
		}
	}
	b.Error.Status = resp.StatusCode
	return b.Error
}

func marshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding the request: %w", err)
	}
	return b, nil
}

// SubmitRun queues a run.
func (c *Client) SubmitRun(ctx context.Context, req RunRequest) (*store.Run, error) {
	sr := req
	if len(req.ProfileDocument) > 0 {
		doc := req.ProfileDocument
		if !json.Valid(doc) {
			p, _, err := spec.ParseProfile(doc)
			if err != nil {
				return nil, fmt.Errorf("profile document: %w", err)
			}
			if doc, err = p.JSON(); err != nil {
				return nil, err
			}
		}
		sr.ProfileDocument = doc
	}
	body, err := marshal(sr)
	if err != nil {
		return nil, err
	}
	var run store.Run
	if err := c.do(ctx, http.MethodPost, "/api/v1/runs", body, "", &run); err != nil {
		return nil, err
	}
	return &run, nil
}

// GetRun returns a run's current state.
func (c *Client) GetRun(ctx context.Context, id string) (*store.Run, error) {
	var run store.Run
	if err := c.do(ctx, http.MethodGet, "/api/v1/runs/"+url.PathEscape(id), nil, "", &run); err != nil {
		return nil, err
	}
	return &run, nil
}

// CancelRun cancels a queued or running run; what it measured is kept.
func (c *Client) CancelRun(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodPost, "/api/v1/runs/"+url.PathEscape(id)+"/cancel", nil, "", nil)
}

// Events reads a run's live events (what already happened first) and calls
// fn with each until the stream ends, which it does when the run ends. An
// error from fn stops the stream and is returned.
func (c *Client) Events(ctx context.Context, runID string, fn func(api.Event) error) error {
	resp, err := c.send(ctx, http.MethodGet, "/api/v1/runs/"+url.PathEscape(runID)+"/events", nil, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	var data strings.Builder
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if data.Len() == 0 {
				continue
			}
			var e api.Event
			if err := json.Unmarshal([]byte(data.String()), &e); err != nil {
				return fmt.Errorf("run %s events: %w", runID, err)
			}
			data.Reset()
			if err := fn(e); err != nil {
				return err
			}
		case strings.HasPrefix(line, ":"): // a comment: keep-alive
		case strings.HasPrefix(line, "data:"):
			if data.Len() > 0 {
				data.WriteByte('\n')
			}
			data.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		}
	}
	if err := sc.Err(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("run %s events: %w", runID, err)
	}
	return ctx.Err()
}

// GetResult returns a stored result (an unambiguous id prefix will do).
func (c *Client) GetResult(ctx context.Context, id string) (*spec.Result, error) {
	var r spec.Result
	if err := c.do(ctx, http.MethodGet, "/api/v1/results/"+url.PathEscape(id), nil, "", &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// ListResults lists results, newest first; query holds the API's filters
// (profile, label, since, until, generator, target, limit, cursor).
func (c *Client) ListResults(ctx context.Context, query url.Values) (*store.Page, error) {
	path := "/api/v1/results"
	if len(query) > 0 {
		path += "?" + query.Encode()
	}
	var p store.Page
	if err := c.do(ctx, http.MethodGet, path, nil, "", &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// ApplyProfile stores a profile (YAML or JSON): created if its name is
// new, else a new revision of it.
func (c *Client) ApplyProfile(ctx context.Context, yamlOrJSON []byte) (*api.ProfileView, error) {
	ct := "application/json"
	if !json.Valid(yamlOrJSON) {
		ct = "application/yaml"
	}
	var v api.ProfileView
	err := c.do(ctx, http.MethodPost, "/api/v1/profiles", yamlOrJSON, ct, &v)
	var ae *Error
	if errors.As(err, &ae) && ae.Status == http.StatusConflict {
		p, _, perr := spec.ParseProfile(yamlOrJSON)
		if perr != nil {
			return nil, perr
		}
		err = c.do(ctx, http.MethodPut, "/api/v1/profiles/"+url.PathEscape(p.Name), yamlOrJSON, ct, &v)
	}
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// ListProfiles lists stored profiles, every page of them; query holds the
// API's filters (name, label).
func (c *Client) ListProfiles(ctx context.Context, query url.Values) ([]api.ProfileView, error) {
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	q.Set("limit", "1000")
	var all []api.ProfileView
	for {
		var page struct {
			Profiles   []api.ProfileView `json:"profiles"`
			NextCursor string            `json:"next_cursor"`
		}
		if err := c.do(ctx, http.MethodGet, "/api/v1/profiles?"+q.Encode(), nil, "", &page); err != nil {
			return nil, err
		}
		all = append(all, page.Profiles...)
		if page.NextCursor == "" {
			return all, nil
		}
		q.Set("cursor", page.NextCursor)
	}
}

// Login exchanges a user's name and password for tokens (team mode).
func (c *Client) Login(ctx context.Context, name, password string) (*api.TokenResponse, error) {
	return c.tokens(ctx, "/api/v1/auth/login", api.LoginRequest{Name: name, Password: password})
}

// Refresh exchanges a refresh token for a new pair; the old one is spent.
func (c *Client) Refresh(ctx context.Context, refreshToken string) (*api.TokenResponse, error) {
	return c.tokens(ctx, "/api/v1/auth/refresh", api.RefreshRequest{RefreshToken: refreshToken})
}

// Logout revokes a refresh token.
func (c *Client) Logout(ctx context.Context, refreshToken string) error {
	body, err := marshal(api.RefreshRequest{RefreshToken: refreshToken})
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodPost, "/api/v1/auth/logout", body, "", nil)
}

func (c *Client) tokens(ctx context.Context, path string, req any) (*api.TokenResponse, error) {
	body, err := marshal(req)
	if err != nil {
		return nil, err
	}
	var t api.TokenResponse
	if err := c.do(ctx, http.MethodPost, path, body, "", &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// GetProfile fetches a stored profile, its latest revision or revision rev.
func (c *Client) GetProfile(ctx context.Context, ref string, rev int) (*api.ProfileView, error) {
	p := "/api/v1/profiles/" + url.PathEscape(ref)
	if rev > 0 {
		p += "?revision=" + strconv.Itoa(rev)
	}
	var v api.ProfileView
	if err := c.do(ctx, http.MethodGet, p, nil, "", &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// ProfileRevisions lists a profile's revisions, oldest first.
func (c *Client) ProfileRevisions(ctx context.Context, ref string) ([]api.ProfileView, error) {
	var out struct {
		Revisions []api.ProfileView `json:"revisions"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/v1/profiles/"+url.PathEscape(ref)+"/revisions", nil, "", &out); err != nil {
		return nil, err
	}
	return out.Revisions, nil
}

// DeleteProfile deletes a stored profile and its revisions.
func (c *Client) DeleteProfile(ctx context.Context, ref string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/profiles/"+url.PathEscape(ref), nil, "", nil)
}

// DeleteResult deletes a stored result.
func (c *Client) DeleteResult(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/results/"+url.PathEscape(id), nil, "", nil)
}
