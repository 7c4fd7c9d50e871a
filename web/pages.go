package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/pending"
	"github.com/monban-idp/monban/web/connector"
	"github.com/monban-idp/monban/web/i18n"
	"github.com/monban-idp/monban/web/view"
)

func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, c view.Component) {
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

// getLoggedOut shows that the person is signed out. After a sign-in at
// an upstream configured with end_session_redirect, the first visit once
// monban's session is gone goes on to the upstream's end of session
// (RP-Initiated Logout 1.0 §2), which comes back here; monban's own
// logout never waits for the upstream.
func (h *Handler) getLoggedOut(w http.ResponseWriter, r *http.Request) error {
	var id string
	if h.openSigned(r, logoutCookie, &id) {
		if sess, err := h.sessions.Current(r); err == nil && sess == nil {
			h.clearCookie(w, logoutCookie)
			if to := h.upstreamLogout(r.Context(), id); to != "" {
				http.Redirect(w, r, to, http.StatusSeeOther)
				return nil
			}
		}
	}
	h.render(w, r, http.StatusOK, view.LoggedOut())
	return nil
}

// upstreamLogout is the end-of-session URL of connector id, or "".
func (h *Handler) upstreamLogout(ctx context.Context, id string) string {
	c := h.connectors[id]
	if c == nil || !c.EndSessionRedirect {
		return ""
	}
	es, ok := c.Redirector.(connector.EndSessioner)
	if !ok {
		return ""
	}
	return es.EndSessionURL(ctx, strings.TrimSuffix(h.issuer, "/")+"/logged-out")
}

// pendingRequest is a live authorization request and its client.
type pendingRequest struct {
	// id is what the page was given: a stored request's id, or the sealed
	// value of one nobody has signed in to yet (then req.ID is the id it
	// will be stored under).
	id     string
	req    *storage.AuthRequest
	client *storage.Client
}

// loadRequest loads a pending authorization request that can still be
// completed: a stored one by its id, or one nobody has signed in to yet by
// its sealed value (package storage/pending), which is opened, not
// looked up. A sealed value that is tampered with, foreign or expired is
// answered like an unknown id.
//
// The request's ui_locales choose the page's language.
func (h *Handler) loadRequest(r *http.Request, id string) (*pendingRequest, error) {
	ctx := r.Context()
	req, err := h.lookupRequest(r, id)
	if err != nil {
		return nil, err
	}
	client, err := h.store.GetClient(ctx, req.ClientID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && client.Disabled) {
		return nil, errExpired(err)
	}
	if err != nil {
		return nil, fmt.Errorf("get client: %w", err)
	}
	return &pendingRequest{id: id, req: req, client: client}, nil
}

// lookupRequest opens a sealed request or loads a stored one.
func (h *Handler) lookupRequest(r *http.Request, id string) (*storage.AuthRequest, error) {
	ctx := r.Context()
	if pending.IsSealed(id) {
		if h.pending == nil {
			return nil, errExpired(errNoSealer)
		}
		req, err := h.pending.Open(id)
		if err != nil {
			return nil, errExpired(err)
		}
		h.preferRequest(r, req, id)
		return req, nil
	}
	if id == "" || len(id) > 128 {
		return nil, errExpired(nil)
	}
	req, err := h.store.GetAuthRequest(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, errExpired(err)
	}
	if err != nil {
		return nil, fmt.Errorf("get auth request: %w", err)
	}
	if !h.now().Before(req.ExpiresAt) {
		return nil, errExpired(nil)
	}
	h.preferRequest(r, req, id)
	if req.CodeHash != "" {
		return nil, errCompleted(nil)
	}
	return req, nil
}

// errNoSealer is the logged cause of a sealed id refused by pages
// configured without Config.Pending.
var errNoSealer = errors.New("a sealed auth request, but no sealer is configured")

// clientName is the name shown for a client: its display name, or its ID.
func clientName(c *storage.Client) string {
	if c.Name != "" {
		return c.Name
	}
	return c.ID
}

// parsePost limits and parses a form body and checks its CSRF token.
func (h *Handler) parsePost(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return fail(http.StatusRequestEntityTooLarge, tooLargeTitle, tooLargeDetail, err)
		}
		return errInvalidForm(err)
	}
	if !h.validCSRF(r) {
		h.log.WarnContext(r.Context(), "csrf token missing or invalid", "path", r.URL.Path)
		return errFormExpired()
	}
	return nil
}

// maxFormBytes bounds every form body (checklist B2).
const maxFormBytes = 64 << 10
