package cli

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/meshperf/meshperf/internal/client"
)

func newLoginCmd(stdio IO, g *globalOptions) *cobra.Command {
	var name string
	var stdin bool
	cmd := &cobra.Command{
		Use:   "login --server URL",
		Short: "Log in to a team-mode meshperf server; later commands use it without --server",
		Long: `meshperf login asks a team-mode server (meshperf server --auth) for tokens and
keeps the server's URL and the tokens in $XDG_CONFIG_HOME/meshperf/context.json
(mode 0600). Commands then go to that server, refreshing the access token when
it expires, until meshperf logout. In CI, set MESHPERF_TOKEN to an API token
instead.`,
		Example: `  meshperf login --server https://meshperf.internal --name alice
  echo "$PASSWORD" | meshperf login --server http://127.0.0.1:7070 --name ci --password-stdin`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if g.server == "" {
				return usageErrorf("login: give the server with --server URL")
			}
			if name == "" {
				name = os.Getenv("USER")
			}
			if name == "" {
				return usageErrorf("login: give the user's name with --name")
			}
			// The saved context is another login's: log in afresh.
			u, _, err := g.serverURL()
			if err != nil {
				return err
			}
			pw, err := readPassword(stdio, stdin)
			if err != nil {
				return err
			}
			c := client.New(u, "", nil)
			t, err := c.Login(cmd.Context(), name, pw)
			if err != nil {
				var ae *client.Error
				if errors.As(err, &ae) && ae.Code == "not_found" {
					return usageErrorf("%s does not need a login: it runs in single-user mode (use --server %s)", u, u)
				}
				return apiError(c, err)
			}
			if err := saveContext(&savedContext{Server: u, Name: name, AccessToken: t.AccessToken, RefreshToken: t.RefreshToken}); err != nil {
				return err
			}
			fmt.Fprintf(stdio.Err, "logged in to %s as %s\n", u, name)
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "user name (default: $USER)")
	cmd.Flags().BoolVar(&stdin, "password-stdin", false, "read the password from standard input (else it is asked for on the terminal)")
	return cmd
}

func newLogoutCmd(stdio IO, _ *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "Revoke the saved login and forget the server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sc, err := loadContext()
			if err != nil {
				return err
			}
			if sc == nil {
				fmt.Fprintln(stdio.Err, "not logged in")
				return nil
			}
			var revokeErr error
			if sc.RefreshToken != "" {
				c := client.New(sc.Server, "", nil)
				if err := c.Logout(cmd.Context(), sc.RefreshToken); err != nil {
					revokeErr = fmt.Errorf("the login was forgotten here but not revoked on the server: %w", apiError(c, err))
				}
			}
			if err := forgetContext(); err != nil {
				return err
			}
			if revokeErr != nil {
				return revokeErr
			}
			fmt.Fprintf(stdio.Err, "logged out of %s\n", sc.Server)
			return nil
		},
	}
}
