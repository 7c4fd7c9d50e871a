package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"net/http"

	"github.com/monban-idp/monban/web"
)

// requestIDHeader carries the request id, in and out.
const requestIDHeader = "X-Request-Id"

// maxRequestIDLen bounds an id accepted from the client.
const maxRequestIDLen = 64

// withRequestID gives every request an id: the client's X-Request-Id when
// it is safe to log and show (at most 64 of [A-Za-z0-9._-], as a load
// balancer sets it), otherwise a new random one. The id goes back in the
// X-Request-Id response header and into the request context
// (web.WithRequestID), where the logger (requestIDHandler) and the error
// pages ("Reference: …") find it.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(requestIDHeader)
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set(requestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(web.WithRequestID(r.Context(), id)))
	})
}

// validRequestID reports whether a client-supplied id is 1–64 characters
// of [A-Za-z0-9._-]: nothing that could forge a log line or markup.
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for _, c := range []byte(id) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// newRequestID returns 96 random bits, base64url: 16 characters.
func newRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// requestIDHandler adds the request id of the record's context, if any, to
// every log record as request_id.
type requestIDHandler struct{ slog.Handler }

// Handle implements slog.Handler.
func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := web.RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs)}
}

// WithGroup implements slog.Handler.
func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}
