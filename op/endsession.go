package op

import (
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/monban-idp/monban/storage"
)

// endSession is the RP-Initiated Logout endpoint (RP-Initiated Logout 1.0
// §2, §3; checklist L1–L4).
//
//   - With a valid id_token_hint (signed by us; expired is fine), and
//     client_id, if sent, among its audiences: the browser's session ends
//     at once if it belongs to the hint's subject, and the browser goes to
//     post_logout_redirect_uri with state.
//   - Without a hint, a live session is not ended on a request anyone
//     could forge (§6): the person is asked to confirm on a page whose
//     CSRF-protected form ends it (Browser.ConfirmLogout).
//   - An invalid hint, a client_id that does not match it, or a
//     post_logout_redirect_uri that is not exactly one the client
//     registered is refused on an error page: no redirect, nothing ends.
//
// Without a session there is nothing to end: the browser goes straight to
// the validated post-logout URI or the signed-out page.
func (p *Provider) endSession(w http.ResponseWriter, r *http.Request) {
	v, err := readAuthorizeParams(w, r)
	if err != nil {
		p.log.InfoContext(r.Context(), "end-session request refused", "err", err)
		p.browser.RenderError(w, r, http.StatusBadRequest, "error.logout_invalid.title", "error.logout_unreadable.detail")
		return
	}
	for _, k := range []string{"id_token_hint", "client_id", "post_logout_redirect_uri", "state"} {
		if len(v[k]) > 1 {
			p.browser.RenderError(w, r, http.StatusBadRequest, "error.logout_invalid.title", "error.logout_repeated.detail")
			return
		}
	}
	hintToken, clientID, postLogout, state := v.Get("id_token_hint"), v.Get("client_id"), v.Get("post_logout_redirect_uri"), v.Get("state")
	var hint *idTokenHint
	if hintToken != "" {
		hint, err = p.parseIDTokenHint(hintToken)
		if err != nil || (clientID != "" && !slices.Contains(hint.Audience, clientID)) {
			p.browser.RenderError(w, r, http.StatusBadRequest, "error.logout_invalid.title", "error.logout_unverified.detail")
			return
		}
		if clientID == "" && len(hint.Audience) > 0 {
			clientID = hint.Audience[0]
		}
	}
	c, ok := p.postLogoutClient(w, r, clientID, postLogout)
	if !ok {
		return
	}
	sess, err := p.browser.CurrentSession(r)
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	if sess != nil && hint == nil {
		p.browser.ConfirmLogout(w, r, c, postLogout, state)
		return
	}
	// Only the session of the user the hint names is ended; another
	// user's session is left alone, cookie included.
	switch {
	case sess == nil:
		p.browser.ClearSession(w)
	case sess.UserID == hint.Subject:
		if err := p.logout.EndSession(r.Context(), sess.ID, ReasonLogout); err != nil {
			p.unavailable(w, r, err)
			return
		}
		p.browser.ClearSession(w)
	}
	target := p.cfg.LoggedOutPath
	if postLogout != "" {
		target = postLogoutURL(postLogout, state)
	}
	redirect(w, r, target)
}

// postLogoutClient loads the client named by client_id (or the hint) and
// checks post_logout_redirect_uri against its registration: only an exact
// match of a registered URI is ever followed (RP-Initiated Logout 1.0 §3).
// On failure it has written an error page.
func (p *Provider) postLogoutClient(w http.ResponseWriter, r *http.Request, clientID, postLogout string) (*storage.Client, bool) {
	if clientID == "" {
		if postLogout != "" {
			p.browser.RenderError(w, r, http.StatusBadRequest, "error.logout_uri.title", "error.logout_anonymous.detail")
			return nil, false
		}
		return nil, true
	}
	c, err := p.store.GetClient(r.Context(), clientID)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		p.unavailable(w, r, err)
		return nil, false
	}
	if err != nil || c.Disabled {
		c = nil
	}
	if postLogout != "" && (c == nil || !slices.Contains(c.PostLogoutRedirectURIs, postLogout)) {
		p.browser.RenderError(w, r, http.StatusBadRequest, "error.logout_uri.title", "error.logout_uri.detail")
		return nil, false
	}
	return c, true
}

// PostLogoutURL returns a validated post_logout_redirect_uri with state
// added to its query when state is not empty (RP-Initiated Logout 1.0 §3).
func postLogoutURL(postLogoutRedirectURI, state string) string {
	u, err := url.Parse(postLogoutRedirectURI)
	if err != nil || state == "" {
		return postLogoutRedirectURI
	}
	q := u.Query()
	q.Set("state", state)
	u.RawQuery = q.Encode()
	return u.String()
}
