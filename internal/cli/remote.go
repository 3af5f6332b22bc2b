package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/meshperf/meshperf/internal/client"
)

// savedContext is what meshperf login keeps: the server and its tokens.
type savedContext struct {
	Server       string `json:"server"`
	Name         string `json:"name,omitempty"`
	AccessToken  string `json:"access_token,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

// contextPath is $XDG_CONFIG_HOME/meshperf/context.json (~/.config when
// XDG_CONFIG_HOME is not set).
func contextPath() (string, error) {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("no config directory: %w", err)
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "meshperf", "context.json"), nil
}

// loadContext returns the saved context, nil when there is none.
func loadContext() (*savedContext, error) {
	path, err := contextPath()
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("login context: %w", err)
	}
	var c savedContext
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("login context %s: %w (meshperf logout forgets it)", path, err)
	}
	return &c, nil
}

// saveContext writes the context readable by its owner only.
func saveContext(c *savedContext) error {
	path, err := contextPath()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("login context: %w", err)
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("login context: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("login context: %w", err)
	}
	return nil
}

func forgetContext() error {
	path, err := contextPath()
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("login context: %w", err)
	}
	return nil
}

// serverURL is the server commands go to: --server (or MESHPERF_SERVER),
// else the one meshperf login saved unless --db names a local store; ""
// means the local store.
func (g *globalOptions) serverURL() (string, *savedContext, error) {
	sc, err := loadContext()
	if err != nil {
		return "", nil, err
	}
	if g.server != "" {
		u := strings.TrimRight(g.server, "/")
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			return "", nil, usageErrorf("--server: want an http:// or https:// URL, not %q", g.server)
		}
		if sc != nil && sc.Server != u {
			sc = nil // the saved tokens are another server's
		}
		return u, sc, nil
	}
	if sc == nil || g.db != "" {
		return "", nil, nil
	}
	return sc.Server, sc, nil
}

// remote reports whether commands go to a server.
func (g *globalOptions) remote() (bool, error) {
	u, _, err := g.serverURL()
	return u != "", err
}

// client returns a client of the server commands go to, nil for the local
// store. Its token is MESHPERF_TOKEN when set, else the saved access token,
// refreshed once (and the pair saved) when the server refuses it.
func (g *globalOptions) client() (*client.Client, error) {
	u, sc, err := g.serverURL()
	if err != nil || u == "" {
		return nil, err
	}
	if tok := os.Getenv("MESHPERF_TOKEN"); tok != "" {
		return client.New(u, tok, nil), nil
	}
	if sc == nil {
		return client.New(u, "", nil), nil
	}
	c := client.New(u, sc.AccessToken, nil)
	if sc.RefreshToken != "" {
		c.Refresher = func(ctx context.Context) (string, error) {
			t, err := c.Refresh(ctx, sc.RefreshToken)
			if err != nil {
				return "", err
			}
			sc.AccessToken, sc.RefreshToken = t.AccessToken, t.RefreshToken
			if err := saveContext(sc); err != nil {
				return "", err
			}
			return t.AccessToken, nil
		}
	}
	return c, nil
}

// notRemote refuses a command that works on the local store only.
func (g *globalOptions) notRemote(name string) error {
	if r, err := g.remote(); err != nil || !r {
		return err
	}
	return usageErrorf("%s is not available against a server yet (use --db for a local store)", name)
}

// apiError maps a client error to the CLI's: the server's 4xx are usage
// errors (exit 2), 401 says to log in, the rest (5xx, unreachable) fail
// (exit 3).
func apiError(c *client.Client, err error) error {
	var ae *client.Error
	if !errors.As(err, &ae) {
		return err
	}
	switch {
	case ae.Status == http.StatusUnauthorized && ae.Code == "invalid_credentials":
		return &UsageError{Err: fmt.Errorf("%s: wrong name or password", c.BaseURL())}
	case ae.Status == http.StatusUnauthorized:
		return &UsageError{Err: fmt.Errorf("%s: not logged in or the login has expired (%s): run meshperf login --server %s", c.BaseURL(), ae.Code, c.BaseURL())}
	case ae.Status == http.StatusNotFound:
		return &UsageError{Err: fmt.Errorf("%s: %s", c.BaseURL(), ae.Message)}
	case ae.Status/100 == 4:
		msg := ae.Message
		if ae.Field != "" && !strings.Contains(msg, ae.Field) {
			msg = ae.Field + ": " + msg
		}
		return &UsageError{Err: fmt.Errorf("%s: %s", c.BaseURL(), msg)}
	}
	return fmt.Errorf("%s: %w", c.BaseURL(), err)
}
