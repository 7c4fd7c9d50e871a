package op

import (
	"errors"
	"net/http"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/monban-idp/monban/storage"
)

// callback is where the login and consent pages send the browser once they
// have done their part. It re-checks everything itself, so a page can only
// move a request forward, never skip a step:
//   - the request must be bound to this browser's current session (the
//     library's callback trusts the id alone);
//   - a denied consent becomes access_denied at the client;
//   - a request still needing sign-in or consent goes back to that page;
//   - the code is issued at most once per request (a second visit is an
//     error, not a second code).
func (p *Provider) callback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	req, err := p.store.GetAuthRequest(ctx, r.URL.Query().Get(callbackIDParam))
	if errors.Is(err, storage.ErrNotFound) || (err == nil && !p.now().Before(req.ExpiresAt)) {
		p.browser.RenderError(w, r, http.StatusBadRequest, "error.callback_expired.title", "error.callback_expired.detail")
		return
	}
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	if req.CodeHash != "" {
		p.browser.RenderError(w, r, http.StatusBadRequest, "error.completed.title", "error.callback_completed.detail")
		return
	}
	if !req.Authenticated() {
		redirect(w, r, p.browser.LoginURL(req.ID))
		return
	}
	sess, err := p.browser.CurrentSession(r)
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	if sess == nil || sess.ID != req.SessionID {
		p.browser.RenderError(w, r, http.StatusForbidden, "error.callback_other_session.title", "error.callback_other_session.detail")
		return
	}
	if req.Denied {
		_ = p.store.DeleteAuthRequest(ctx, req.ID)
		p.redirectError(w, r, req.RedirectURI, req.State, true, oidc.ErrAccessDenied().WithDescription("the user denied the request"))
		return
	}
	c, err := p.store.GetClient(ctx, req.ClientID)
	if err != nil || c.Disabled {
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			p.unavailable(w, r, err)
			return
		}
		p.browser.RenderError(w, r, http.StatusBadRequest, "error.unknown_client.title", "error.client_gone.detail")
		return
	}
	needConsent, err := p.needsConsent(ctx, c, req)
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	if needConsent {
		redirect(w, r, p.browser.ConsentURL(req.ID))
		return
	}
	code := storage.NewToken()
	err = p.store.IssueAuthCode(ctx, req.ID, storage.HashToken(code), p.now().Add(p.cfg.CodeTTL))
	if errors.Is(err, storage.ErrConflict) || errors.Is(err, storage.ErrNotFound) {
		p.browser.RenderError(w, r, http.StatusBadRequest, "error.completed.title", "error.callback_completed.detail")
		return
	}
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	p.sendCode(w, r, req, code)
}
