package op

import (
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/monban-idp/monban/storage"
)

// endSession is the RP-Initiated Logout endpoint (RP-Initiated Logout 1.0
// §2, §3). A request with a valid id_token_hint ends the browser's SSO
// session and, when post_logout_redirect_uri exactly matches one the client
// registered, returns the browser there with state. A request without a
// valid hint changes nothing (§6: it could be a cross-site forgery); the
// person is told how to sign out instead.
func (p *Provider) endSession(w http.ResponseWriter, r *http.Request) {
	v, err := readAuthorizeParams(w, r)
	if err != nil {
		p.browser.RenderError(w, r, http.StatusBadRequest, "This sign-out request is not valid", err.Error()+".")
		return
	}
	for _, k := range []string{"id_token_hint", "client_id", "post_logout_redirect_uri", "state"} {
		if len(v[k]) > 1 {
			p.browser.RenderError(w, r, http.StatusBadRequest, "This sign-out request is not valid", "A parameter was repeated.")
			return
		}
	}
	hintToken, clientID, postLogout := v.Get("id_token_hint"), v.Get("client_id"), v.Get("post_logout_redirect_uri")
	if hintToken == "" {
		p.browser.RenderError(w, r, http.StatusBadRequest, "Sign-out was not confirmed",
			"This sign-out request did not come with proof from the application, so you are still signed in. Sign out from within the application.")
		return
	}
	hint, err := p.parseIDTokenHint(hintToken)
	if err != nil || (clientID != "" && !slices.Contains(hint.Audience, clientID)) {
		p.browser.RenderError(w, r, http.StatusBadRequest, "This sign-out request is not valid",
			"The application sent a sign-out request this service cannot verify. You are still signed in.")
		return
	}
	if clientID == "" && len(hint.Audience) > 0 {
		clientID = hint.Audience[0]
	}
	target := p.cfg.LoggedOutPath
	if postLogout != "" {
		c, err := p.store.GetClient(r.Context(), clientID)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			p.unavailable(w, r, err)
			return
		}
		// §3: only an exact match of a registered URI is ever followed.
		if err != nil || c.Disabled || !slices.Contains(c.PostLogoutRedirectURIs, postLogout) {
			p.browser.RenderError(w, r, http.StatusBadRequest, "Sign-out address not registered",
				"The application asked to send you to an address it has not registered. You were not signed out.")
			return
		}
		u, _ := url.Parse(postLogout)
		if state := v.Get("state"); state != "" {
			q := u.Query()
			q.Set("state", state)
			u.RawQuery = q.Encode()
		}
		target = u.String()
	}
	sess, err := p.browser.CurrentSession(r)
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	// Only the session of the user the hint names is ended.
	if sess != nil && sess.UserID == hint.Subject {
		now := p.now()
		if err := p.store.RevokeSession(r.Context(), sess.ID, now); err != nil {
			p.unavailable(w, r, err)
			return
		}
		if err := p.store.RevokeSessionRefreshTokens(r.Context(), sess.ID, true, now); err != nil {
			p.unavailable(w, r, err)
			return
		}
		p.log.InfoContext(r.Context(), "session ended by client", "event", "logout", "session_id", sess.ID, "client_id", clientID)
	}
	p.browser.ClearSession(w)
	redirect(w, r, target)
}
