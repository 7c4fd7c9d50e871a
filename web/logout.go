package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/view"
)

// SessionEnder ends a browser's single sign-on session and what depends on
// it: refresh tokens bound to it, and back-channel logout for every
// application it served (RP-Initiated Logout 1.0 §2, Back-Channel Logout
// 1.0 §2.5). op.Logout implements it; cmd hands it over.
type SessionEnder interface {
	EndSession(ctx context.Context, sessionID, reason string) error
}

// maxLogoutParam bounds each field of the sign-out form (checklist B3).
const maxLogoutParam = 2048

// ConfirmLogout renders the sign-out confirmation page for an RP-initiated
// logout request that carried no valid id_token_hint (RP-Initiated Logout
// 1.0 §6; checklist L4): nothing ends until the person submits the form.
// client is the requesting application or nil; postLogoutRedirectURI is
// empty or already checked against client's registration, and the form's
// redirect chain may end there, so form-action allows its origin.
func (h *Handler) ConfirmLogout(w http.ResponseWriter, r *http.Request, client *storage.Client, postLogoutRedirectURI, state string) {
	r = ensurePageHeaders(w, r)
	f := view.LogoutForm{CSRFToken: h.ensureCSRF(w, r), PostLogoutRedirectURI: postLogoutRedirectURI, State: state}
	if client != nil {
		f.ClientName, f.ClientID = clientName(client), client.ID
	}
	if postLogoutRedirectURI != "" {
		AllowFormAction(w, r, postLogoutRedirectURI)
	}
	h.render(w, r, http.StatusOK, view.ConfirmLogout(f))
}

// postLogout ends the browser's session once the person confirmed, then
// sends them to the application's registered post-logout URI with state,
// or to the signed-out page. The URI is checked again: the form is only
// as trustworthy as the browser that sent it.
func (h *Handler) postLogout(w http.ResponseWriter, r *http.Request) {
	if !h.parsePost(w, r) {
		return
	}
	ctx := r.Context()
	clientID, target, state := r.PostForm.Get("client_id"), r.PostForm.Get("post_logout_redirect_uri"), r.PostForm.Get("state")
	if len(clientID) > maxLogoutParam || len(target) > maxLogoutParam || len(state) > maxLogoutParam {
		h.RenderError(w, r, http.StatusBadRequest, "error.invalid_form.title", "error.invalid_form.detail")
		return
	}
	if target != "" {
		c, err := h.store.GetClient(ctx, clientID)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			h.renderStoreError(w, r, "get client", err)
			return
		}
		if err != nil || c.Disabled || !slices.Contains(c.PostLogoutRedirectURIs, target) {
			h.RenderError(w, r, http.StatusBadRequest, "error.logout_uri.title", "error.logout_uri.detail")
			return
		}
	}
	if h.sessions == nil {
		h.RenderError(w, r, http.StatusServiceUnavailable, unavailTitle, unavailDetail)
		return
	}
	s, err := h.CurrentSession(r)
	if err != nil {
		h.renderStoreError(w, r, "current session", err)
		return
	}
	if s != nil {
		if err := h.sessions.EndSession(ctx, s.ID, "logout"); err != nil {
			h.renderStoreError(w, r, "end session", err)
			return
		}
	}
	h.ClearSession(w)
	dest := "/logged-out"
	if target != "" {
		dest = withState(target, state)
	}
	http.Redirect(w, r, dest, http.StatusSeeOther)
}

// withState adds state to a registered post-logout URI's query
// (RP-Initiated Logout 1.0 §3).
func withState(uri, state string) string {
	u, err := url.Parse(uri)
	if err != nil || state == "" {
		return uri
	}
	q := u.Query()
	q.Set("state", state)
	u.RawQuery = q.Encode()
	return u.String()
}
