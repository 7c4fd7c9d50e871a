package web

import "context"

// requestIDKey is the context key of the request id.
type requestIDKey struct{}

// WithRequestID returns a copy of ctx carrying the request's id, set by the
// binary's request-id middleware; error pages show it as a reference a
// person can quote to support, and logs carry it.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the id WithRequestID put in ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}
