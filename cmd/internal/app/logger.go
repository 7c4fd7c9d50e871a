package app

import (
	"io"
	"log/slog"
)

// NewLogger builds the structured logger: level is debug, info, warn or
// error (anything else: info), format json or text. Every record logged
// with a request's context carries its request_id.
func NewLogger(level, format string, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lvl}
	if format == "text" {
		return slog.New(requestIDHandler{slog.NewTextHandler(w, opts)})
	}
	return slog.New(requestIDHandler{slog.NewJSONHandler(w, opts)})
}
