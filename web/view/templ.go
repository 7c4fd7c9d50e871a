package view

import (
	"context"

	"github.com/a-h/templ"
)

// Component is a renderable page or fragment. It is templ's, named here so
// that this package stays the only importer of templ.
type Component = templ.Component

// WithNonce returns ctx carrying the page's CSP nonce, which components
// put on the scripts they render.
func WithNonce(ctx context.Context, nonce string) context.Context {
	return templ.WithNonce(ctx, nonce)
}

// Nonce returns the CSP nonce in ctx, or "".
func Nonce(ctx context.Context) string { return templ.GetNonce(ctx) }
