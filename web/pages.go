package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/a-h/templ"
	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/i18n"
	"github.com/monban-idp/monban/web/view"
)

// Catalog keys (web/i18n) of the error pages' texts; each says what
// happened and what to do.
const (
	expiredTitle   = "error.expired.title"
	expiredDetail  = "error.expired.detail"
	formTitle      = "error.form.title"
	formDetail     = "error.form.detail"
	unavailTitle   = "error.unavailable.title"
	unavailDetail  = "error.unavailable.detail"
	completedTitle = "error.completed.title"
	completedDet   = "error.completed.detail"
)

// RenderError writes a readable HTML error page with the given status.
// title and detail are catalog keys (web/i18n): the page shows their text
// in the person's language, never a Go error string. The security headers
// are set if the response does not carry them yet.
func (h *Handler) RenderError(w http.ResponseWriter, r *http.Request, status int, title, detail string) {
	r = ensurePageHeaders(w, r)
	h.render(w, r, status, view.ErrorPage(title, detail, RequestID(r.Context())))
}

func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	r = h.localized(r) // pages op renders (errors, sign-out) skip h.page
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", i18n.For(r.Context()).Lang())
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	if err := c.Render(r.Context(), w); err != nil {
		h.log.Log(r.Context(), failureLevel(err), "render page", "path", r.URL.Path, "err", err)
	}
}

func (h *Handler) renderExpired(w http.ResponseWriter, r *http.Request) {
	h.RenderError(w, r, http.StatusBadRequest, expiredTitle, expiredDetail)
}

func (h *Handler) renderFormExpired(w http.ResponseWriter, r *http.Request) {
	h.RenderError(w, r, http.StatusForbidden, formTitle, formDetail)
}

func (h *Handler) renderStoreError(w http.ResponseWriter, r *http.Request, op string, err error) {
	h.log.Log(r.Context(), failureLevel(err), "store failure", "op", op, "err", err)
	h.RenderError(w, r, http.StatusServiceUnavailable, unavailTitle, unavailDetail)
}

// failureLevel is the log level of a failed request: Error, except when
// it failed because the person's browser went away first (the request
// context was cancelled), which is not the server's fault: Info.
func failureLevel(err error) slog.Level {
	if errors.Is(err, context.Canceled) {
		return slog.LevelInfo
	}
	return slog.LevelError
}

func (h *Handler) getLoggedOut(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, view.LoggedOut())
}

// pendingRequest is a live authorization request and its client.
type pendingRequest struct {
	req    *storage.AuthRequest
	client *storage.Client
}

// loadRequest loads a pending authorization request that can still be
// completed. On failure it has already written an error page and returns
// nil.
func (h *Handler) loadRequest(ctx context.Context, w http.ResponseWriter, r *http.Request, id string) *pendingRequest {
	if id == "" || len(id) > 128 {
		h.renderExpired(w, r)
		return nil
	}
	req, err := h.store.GetAuthRequest(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		h.renderExpired(w, r)
		return nil
	}
	if err != nil {
		h.renderStoreError(w, r, "get auth request", err)
		return nil
	}
	if !h.now().Before(req.ExpiresAt) {
		h.renderExpired(w, r)
		return nil
	}
	h.preferRequest(r, req, r.URL.Path)
	if req.CodeHash != "" {
		h.RenderError(w, r, http.StatusBadRequest, completedTitle, completedDet)
		return nil
	}
	client, err := h.store.GetClient(ctx, req.ClientID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && client.Disabled) {
		h.renderExpired(w, r)
		return nil
	}
	if err != nil {
		h.renderStoreError(w, r, "get client", err)
		return nil
	}
	return &pendingRequest{req: req, client: client}
}

// clientName is the name shown for a client: its display name, or its ID.
func clientName(c *storage.Client) string {
	if c.Name != "" {
		return c.Name
	}
	return c.ID
}

// parsePost limits and parses a form body. On failure it has written an
// error page and returns false.
func (h *Handler) parsePost(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.RenderError(w, r, http.StatusRequestEntityTooLarge, "error.too_large.title", "error.too_large.detail")
			return false
		}
		h.RenderError(w, r, http.StatusBadRequest, "error.invalid_form.title", "error.invalid_form.detail")
		return false
	}
	if !h.validCSRF(r) {
		h.log.WarnContext(r.Context(), "csrf token missing or invalid", "path", r.URL.Path)
		h.renderFormExpired(w, r)
		return false
	}
	return true
}

// maxFormBytes bounds every form body (checklist B2).
const maxFormBytes = 64 << 10

// requestUpdateFailed answers a failed update of an authorization request
// (what names it for the log) and reports whether there was one: a request
// that is gone has expired, one with a code was already completed, anything
// else is a store failure.
func (h *Handler) requestUpdateFailed(w http.ResponseWriter, r *http.Request, what string, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, storage.ErrNotFound):
		h.renderExpired(w, r)
	case errors.Is(err, storage.ErrConflict):
		h.RenderError(w, r, http.StatusBadRequest, completedTitle, completedDet)
	default:
		h.renderStoreError(w, r, what, err)
	}
	return true
}
