package cli

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/meshperf/meshperf/internal/auth"
	"github.com/meshperf/meshperf/store"
	"github.com/meshperf/meshperf/store/sqlite"
)

// authKey reads the server's token-signing key from path, making one (0600)
// the first time. Tokens stay valid across restarts because the key does.
func authKey(path string) ([]byte, error) {
	if env := os.Getenv("MESHPERF_AUTH_KEY"); env != "" {
		k, err := hex.DecodeString(env)
		if err != nil || len(k) < 32 {
			return nil, usageErrorf("MESHPERF_AUTH_KEY: want at least 64 hex digits")
		}
		return k, nil
	}
	if path == "" {
		db, err := sqlite.DefaultPath()
		if err != nil {
			return nil, err
		}
		path = filepath.Join(filepath.Dir(db), "auth.key")
	}
	b, err := os.ReadFile(path)
	if err == nil {
		k, derr := hex.DecodeString(strings.TrimSpace(string(b)))
		if derr != nil || len(k) < 32 {
			return nil, fmt.Errorf("auth key %s: not a key meshperf wrote (want 64+ hex digits)", path)
		}
		return k, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("auth key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("auth key: %w", err)
	}
	k := auth.GenerateKey()
	if err := os.WriteFile(path, []byte(hex.EncodeToString(k)+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("auth key: %w", err)
	}
	return k, nil
}

// authService makes the auth service over the store.
func authService(st store.Store, keyFile string, log *slog.Logger) (*auth.Service, error) {
	as, ok := st.(auth.Store)
	if !ok {
		return nil, errors.New("this store cannot keep users and tokens")
	}
	key, err := authKey(keyFile)
	if err != nil {
		return nil, err
	}
	opts := []auth.Option{}
	if log != nil {
		opts = append(opts, auth.WithLogger(log))
	}
	return auth.New(as, key, opts...)
}

func newUserCmd(stdio IO, g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Manage the users of a team-mode server (meshperf server --auth)",
	}
	var admin, stdin bool
	var keyFile string
	add := &cobra.Command{
		Use:   "add NAME",
		Short: "Create a user (the first one should be --admin)",
		Args:  exactArgs(1, "user add: give the user's name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := readPassword(stdio, stdin)
			if err != nil {
				return err
			}
			st, err := g.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			svc, err := authService(st, keyFile, nil)
			if err != nil {
				return err
			}
			u, err := svc.CreateUser(cmd.Context(), args[0], pw, admin)
			switch {
			case errors.Is(err, auth.ErrWeakPassword), errors.Is(err, auth.ErrInvalidName), errors.Is(err, auth.ErrConflict):
				return &UsageError{Err: err}
			case err != nil:
				return err
			}
			role := "user"
			if u.Admin {
				role = "admin"
			}
			fmt.Fprintf(stdio.Out, "%s %s created (id %s)\n", role, u.Name, u.ID)
			return nil
		},
	}
	add.Flags().BoolVar(&admin, "admin", false, "the user may manage users")
	add.Flags().BoolVar(&stdin, "password-stdin", false, "read the password from standard input (else it is asked for on the terminal)")
	add.Flags().StringVar(&keyFile, "auth-key-file", "", "token-signing key file (default auth.key beside the SQLite store)")
	cmd.AddCommand(add)
	return cmd
}

func readPassword(stdio IO, fromStdin bool) (string, error) {
	if !fromStdin {
		f, ok := stdio.In.(*os.File)
		if !ok || !term.IsTerminal(int(f.Fd())) {
			return "", usageErrorf("user add: no terminal to ask for the password on; use --password-stdin")
		}
		fmt.Fprint(stdio.Err, "password (12 characters or more): ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stdio.Err)
		return string(b), err
	}
	line, err := bufio.NewReader(io.LimitReader(stdio.In, 1024)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}
