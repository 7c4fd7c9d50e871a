package op

import (
	"errors"
	"net/http"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/acr"
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
func (p *Provider) callback(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	req, err := p.store.GetAuthRequest(ctx, r.URL.Query().Get(callbackIDParam))
	if errors.Is(err, storage.ErrNotFound) || (err == nil && !p.now().Before(req.ExpiresAt)) {
		return badRequest(expiredRequestT, expiredRequestD)
	}
	if err != nil {
		return unavailable(err)
	}
	if req.CodeHash != "" {
		return badRequest(completedRequestT, completedRequestD)
	}
	if !req.Authenticated() {
		redirect(w, r, p.browser.SignInURL(req.ID))
		return nil
	}
	sess, err := p.sessions.Current(r)
	if err != nil {
		return unavailable(err)
	}
	if sess == nil || sess.ID != req.SessionID {
		return &pageError{status: http.StatusForbidden, title: otherBrowserT, detail: otherBrowserD}
	}
	// The methods bound to the request must reach the class it needs: a
	// page cannot skip a second factor (issue 17).
	need, err := p.neededACR(ctx, req, req.UserID)
	if err != nil {
		return unavailable(err)
	}
	if !acr.Meets(req.AMR, need) {
		return &pageError{status: http.StatusForbidden, title: factorNeededT, detail: factorNeededD}
	}
	// The request named its user (id_token_hint, OIDC Core §3.1.2.1: "SHOULD
	// return an error, such as login_required" otherwise; a sub claim
	// request, §5.5.1: "MUST NOT reply with an ID Token or Access Token for
	// a different user"): someone else signed in.
	if req.HintSubject != "" && req.UserID != req.HintSubject {
		_ = p.store.DeleteAuthRequest(ctx, req.ID)
		return &clientError{redirectURI: req.RedirectURI, state: req.State, echoState: true,
			e: oidc.ErrLoginRequired().WithDescription("the signed-in user is not the one the request names")}
	}
	if req.Denied {
		_ = p.store.DeleteAuthRequest(ctx, req.ID)
		return &clientError{redirectURI: req.RedirectURI, state: req.State, echoState: true,
			e: oidc.ErrAccessDenied().WithDescription("the user denied the request")}
	}
	c, err := p.store.GetClient(ctx, req.ClientID)
	if err != nil || c.Disabled {
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return unavailable(err)
		}
		return badRequest(unknownAppT, unregisteredAppD)
	}
	// The client's group rule, now that the person is known (issue 15).
	if err := p.checkGroupRule(ctx, w, c, req); err != nil {
		return err
	}
	needConsent, err := p.needsConsent(ctx, c, req)
	if err != nil {
		return unavailable(err)
	}
	if needConsent {
		redirect(w, r, p.browser.ConsentURL(req.ID))
		return nil
	}
	code := storage.NewToken()
	err = p.store.IssueAuthCode(ctx, req.ID, storage.HashToken(code), p.now().Add(p.cfg.CodeTTL))
	if errors.Is(err, storage.ErrConflict) || errors.Is(err, storage.ErrNotFound) {
		return badRequest(completedRequestT, completedRequestD)
	}
	if err != nil {
		return unavailable(err)
	}
	return p.sendCode(w, r, req, code)
}
