package cli

import (
	"io"
	"log/slog"
	"os"

	"github.com/spf13/pflag"
	"golang.org/x/term"
)

// logFlags are the log flags of the long-running commands (server, agent).
type logFlags struct {
	level, format string
}

func (l *logFlags) register(f *pflag.FlagSet) {
	f.StringVar(&l.level, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&l.format, "log-format", "auto", "auto (text on a terminal, JSON lines otherwise), text or json")
}

// logger makes the command's logger on w: human-readable on a terminal,
// JSON lines when w is not one or --log-format json asks for them. floor
// raises the level (for a component whose routine lines the command says
// itself).
func (l *logFlags) logger(w io.Writer, floor slog.Level) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(l.level)); err != nil {
		return nil, usageErrorf("--log-level: want debug, info, warn or error, not %q", l.level)
	}
	opts := &slog.HandlerOptions{Level: max(lv, floor)}
	switch l.format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "auto", "":
		if isTerminal(w) {
			return slog.New(slog.NewTextHandler(w, opts)), nil
		}
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usageErrorf("--log-format: want auto, text or json, not %q", l.format)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
