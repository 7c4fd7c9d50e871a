package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/view"
)

// selectAccountPath is the account page of prompt=select_account.
const selectAccountPath = "/select-account"

// SelectAccountURL returns the account page for a pending authorization
// request that asked prompt=select_account (OIDC Core §3.1.2.1) while the
// browser has a session. id may be a stored id or a sealed request.
func (h *Handler) SelectAccountURL(authRequestID string) string {
	return selectAccountPath + "?id=" + url.QueryEscape(authRequestID)
}

// getSelectAccount shows who the browser is signed in as, with "Continue
// as …" and "Use another account". Without a session (it ended meanwhile)
// there is nothing to choose: the browser goes to the sign-in form.
func (h *Handler) getSelectAccount(w http.ResponseWriter, r *http.Request) error {
	id := r.URL.Query().Get("id")
	p, err := h.loadRequest(r, id)
	if err != nil {
		return err
	}
	sess, user, err := h.currentUser(r)
	if err != nil {
		return err
	}
	if sess == nil {
		http.Redirect(w, r, h.flow.Start(id), http.StatusFound)
		return nil
	}
	h.renderSelectAccount(w, r, p, user)
	return nil
}

func (h *Handler) renderSelectAccount(w http.ResponseWriter, r *http.Request, p *pendingRequest, u *storage.User) {
	AllowFormAction(w, r, p.req.RedirectURI)
	name := u.Username
	if u.Name != "" {
		name = u.Name + " (" + u.Username + ")"
	}
	h.render(w, r, http.StatusOK, view.SelectAccount(view.SelectAccountForm{
		RequestID:  p.id, // a sealed value stays sealed until the person chooses
		CSRFToken:  h.ensureCSRF(w, r),
		ClientName: clientName(p.client),
		UserName:   name,
		Account:    u.ID,
	}))
}

// postSelectAccount carries out the choice. "continue" binds the request
// to the browser's session and goes on to the provider's callback (consent
// if needed, then the code), but only while the session is still the
// account the page showed: if another sign-in replaced it meanwhile, the
// page is shown again for the new account. "another" leaves the session
// out of this request and starts the sign-in flow; signing in as someone
// else there replaces the session (session.Manager.SignIn).
func (h *Handler) postSelectAccount(w http.ResponseWriter, r *http.Request) error {
	if err := h.parsePost(w, r); err != nil {
		return err
	}
	id := r.PostForm.Get("id")
	p, err := h.loadRequest(r, id)
	if err != nil {
		return err
	}
	switch r.PostForm.Get("action") {
	case "another":
		http.Redirect(w, r, h.flow.Start(id), http.StatusSeeOther)
		return nil
	case "continue":
	default:
		return fail(http.StatusBadRequest, invalidFormT, chooseAccountD, nil)
	}
	sess, user, err := h.currentUser(r)
	if err != nil {
		return err
	}
	switch {
	case sess == nil: // signed out meanwhile: sign in
		http.Redirect(w, r, h.flow.Start(id), http.StatusSeeOther)
		return nil
	case user.ID != r.PostForm.Get("account"):
		h.renderSelectAccount(w, r, p, user)
		return nil
	}
	next, err := h.flow.Continue(r.Context(), w, r, id, sess)
	if err != nil {
		return errRequestUpdate(err)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// currentUser returns the browser's live session and its user, or nils.
func (h *Handler) currentUser(r *http.Request) (*storage.Session, *storage.User, error) {
	sess, err := h.sessions.Current(r)
	if err != nil || sess == nil {
		return nil, nil, err
	}
	u, err := h.store.GetUser(r.Context(), sess.UserID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("get user: %w", err)
	}
	return sess, u, nil
}
