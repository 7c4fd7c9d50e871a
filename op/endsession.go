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
func (p *Provider) endSession(w http.ResponseWriter, r *http.Request) error {
	v, err := readAuthorizeParams(w, r)
	if err != nil {
		return paramsError(err, invalidSignOutT, tooLargeSignOutD, invalidSignOutD, methodSignOutD)
	}
	for _, k := range []string{"id_token_hint", "client_id", "post_logout_redirect_uri", "state"} {
		if len(v[k]) > 1 {
			return badRequest(invalidSignOutT, repeatedSignOutD)
		}
	}
	hintToken, clientID, postLogout, state := v.Get("id_token_hint"), v.Get("client_id"), v.Get("post_logout_redirect_uri"), v.Get("state")
	var hint *idTokenHint
	if hintToken != "" {
		hint, err = p.parseIDTokenHint(hintToken)
		if err != nil || (clientID != "" && !slices.Contains(hint.Audience, clientID)) {
			return badRequest(invalidSignOutT, unverifiedSignOutD)
		}
		if clientID == "" && len(hint.Audience) > 0 {
			clientID = hint.Audience[0]
		}
	}
	c, err := p.postLogoutClient(r, clientID, postLogout)
	if err != nil {
		return err
	}
	sess, err := p.sessions.Current(r)
	if err != nil {
		return unavailable(err)
	}
	if sess != nil && hint == nil {
		p.browser.ConfirmLogout(w, r, c, postLogout, state)
		return nil
	}
	// Only the session of the user the hint names is ended; another
	// user's session is left alone, cookie included.
	switch {
	case sess == nil:
		p.sessions.Clear(w)
	case sess.UserID == hint.Subject:
		if err := p.sessions.EndSession(r.Context(), sess.ID, reasonLogout); err != nil {
			return unavailable(err)
		}
		p.sessions.Clear(w)
	}
	target := p.cfg.LoggedOutPath
	if postLogout != "" {
		target = postLogoutURL(postLogout, state)
	}
	redirect(w, r, target)
	return nil
}

// reasonLogout is the reason an RP-initiated logout gives for ending a
// session (the session package's ReasonLogout).
const reasonLogout = "logout"

// postLogoutClient loads the client named by client_id (or the hint) and
// checks post_logout_redirect_uri against its registration: only an exact
// match of a registered URI is ever followed (RP-Initiated Logout 1.0 §3).
func (p *Provider) postLogoutClient(r *http.Request, clientID, postLogout string) (*storage.Client, error) {
	if clientID == "" {
		if postLogout != "" {
			return nil, badRequest(logoutNotRegT, logoutNoClientD)
		}
		return nil, nil
	}
	c, err := p.store.GetClient(r.Context(), clientID)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return nil, unavailable(err)
	}
	if err != nil || c.Disabled {
		c = nil
	}
	if postLogout != "" && (c == nil || !slices.Contains(c.PostLogoutRedirectURIs, postLogout)) {
		return nil, badRequest(logoutNotRegT, logoutNotRegD)
	}
	return c, nil
}

// postLogoutURL returns a validated post_logout_redirect_uri with state
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
