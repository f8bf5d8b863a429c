package obs

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Log formats accepted by NewLogger.
const (
	FormatText = "text"
	FormatJSON = "json"
)

// NewLogger returns a logger writing to w in the given format ("text" or
// "json"; empty means text) at the given level ("debug", "info", "warn" or
// "error", case-insensitive; empty means info).
func NewLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	lvl, err := ParseLevel(level)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch strings.ToLower(format) {
	case "", FormatText:
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case FormatJSON:
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("log format %q: want text or json", format)
	}
}

// ParseLevel parses a log level name ("debug", "info", "warn", "error";
// empty means info).
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "", "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	default:
		return 0, fmt.Errorf("log level %q: want debug, info, warn or error", s)
	}
}

// Discard returns a logger that drops everything (handy in tests).
func Discard() *slog.Logger {
	return slog.New(slog.DiscardHandler)
}
