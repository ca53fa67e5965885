// Package logs builds the logger behind --log, --log-format and --debug.
//
// Lines are {"level":"error","msg":"...","time":"..."} in json format: the
// level is lowercase because containerd keeps the last line whose level is
// exactly "error" and shows its msg, and podman does the same. Text format
// writes level=error msg="..." time=... lines. Without --log, lines go to
// stderr. The logger is created once in main and passed down; nothing in
// tupper logs through a global.
package logs

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"
)

// Options are the global flags that shape the logger.
type Options struct {
	Path   string // --log; empty means stderr
	Format string // --log-format: "text" or "json"
	Debug  bool   // --debug
}

// New opens the log and returns the logger and a closer for the file.
func New(o Options) (*slog.Logger, io.Closer, error) {
	var w io.Writer = os.Stderr
	var c io.Closer = nopCloser{}
	if o.Path != "" {
		f, err := os.OpenFile(o.Path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, nil, fmt.Errorf("open log %s: %w", o.Path, err)
		}
		w, c = f, f
	}
	level := slog.LevelInfo
	if o.Debug {
		level = slog.LevelDebug
	}
	ho := &slog.HandlerOptions{Level: level, ReplaceAttr: lowercaseLevel}
	switch o.Format {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, ho)), c, nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, ho)), c, nil
	default:
		c.Close()
		return nil, nil, fmt.Errorf("--log-format %q: want text or json", o.Format)
	}
}

// Discard is a logger that writes nothing, for tests and the init process.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// lowercaseLevel writes "error" rather than slog's "ERROR", and RFC 3339
// times with nanoseconds, as runc's logrus output has them.
func lowercaseLevel(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.LevelKey:
		if l, ok := a.Value.Any().(slog.Level); ok {
			return slog.String(slog.LevelKey, strings.ToLower(l.String()))
		}
	case slog.TimeKey:
		return slog.String(slog.TimeKey, a.Value.Time().Format(time.RFC3339Nano))
	}
	return a
}

type nopCloser struct{}

func (nopCloser) Close() error { return nil }
