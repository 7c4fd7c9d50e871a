package op

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/acr"
)

// authorize is the authorization endpoint (OIDC Core §3.1.2). It validates
// the request, then decides before showing any page whether the browser's
// SSO session can be reused, and answers with a code, a page or an error.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	v, err := readAuthorizeParams(w, r)
	if err != nil {
		return paramsError(err, invalidSignInT, tooLargeSignInD, invalidSignInD, methodSignInD)
	}
	// RFC 9126 §4: a request_uri from /par stands for the whole request.
	pushed, isPushed, err := p.pushedParams(ctx, v)
	if err != nil {
		return err
	}
	if isPushed {
		v = pushed
	} else if v, err = p.resolveRequestObject(ctx, v); err != nil { // RFC 9101 (requestobject.go)
		return err
	}
	c, redirectURI, err := p.authorizeClient(r, v)
	if err != nil {
		return err
	}
	// RFC 9126 §6: a client registered with
	// require_pushed_authorization_requests uses /par for every request.
	// The redirect URI was checked as registered, so the error may go there.
	if c.RequirePAR && !isPushed {
		state, stateOK := single(v, "state")
		return &clientError{redirectURI: redirectURI, state: state, echoState: stateOK && len(state) <= maxParamLength,
			e: oidc.ErrInvalidRequest().WithDescription("the client must use pushed authorization requests")}
	}
	params, oerr := parseAuthParams(v, c)
	if oerr != nil {
		return &clientError{redirectURI: redirectURI, state: params.state, echoState: params.stateOK, e: oerr}
	}
	toClient := func(e *oidc.Error) error {
		return &clientError{redirectURI: redirectURI, state: params.state, echoState: true, e: e}
	}
	dpopJKT, oerr := p.dpopJKTParam(v) // RFC 9449 §10 (dpop_jkt.go)
	if oerr != nil {
		return toClient(oerr)
	}
	var hintSubject string
	if params.idTokenHint != "" {
		hint, err := p.parseIDTokenHint(params.idTokenHint)
		if err != nil {
			return toClient(oidc.ErrInvalidRequest().WithDescription("id_token_hint is not valid"))
		}
		hintSubject = hint.Subject
	}
	// OIDC Core §5.5.1: a sub claim request with a value names the user,
	// as an id_token_hint does; no user is both of two different ones.
	if params.subject != "" {
		if hintSubject != "" && hintSubject != params.subject {
			return toClient(oidc.ErrLoginRequired().WithDescription("id_token_hint and the sub claim request name different users"))
		}
		hintSubject = params.subject
	}
	now := p.now()
	req := &storage.AuthRequest{
		ID: storage.NewID(), ClientID: c.ID, RedirectURI: redirectURI, Scopes: params.scopes,
		State: params.state, Nonce: params.nonce, ResponseMode: params.responseMode,
		CodeChallenge: params.challenge, CodeChallengeMethod: params.method,
		Prompt: params.prompt, MaxAge: params.maxAge, LoginHint: params.loginHint, HintSubject: hintSubject,
		UILocales: params.uiLocales,
		// The class the request needs: its own, or the client's policy.
		ACR:       params.acr,
		Claims:    params.claims,
		DPoPJKT:   dpopJKT,
		CreatedAt: now, ExpiresAt: now.Add(p.cfg.AuthRequestTTL),
	}
	if c.RequireMFA {
		req.ACR = acr.Stronger(req.ACR, acr.MFA)
	}
	sess, err := p.reusableSession(r, req)
	if err != nil {
		return unavailable(err)
	}
	promptNone := slices.Contains(req.Prompt, "none")
	if sess == nil {
		if promptNone { // OIDC Core §3.1.2.6
			return toClient(oidc.ErrLoginRequired())
		}
		return p.signIn(w, r, req)
	}
	// OIDC Core §3.1.2.1: prompt=select_account asks the person which
	// account to use even though a session could answer at once. The
	// request goes to the account page unbound, as to the sign-in page:
	// it continues with the session only when the person says so there.
	// (prompt=none cannot be combined with it: parsePrompt refuses that.)
	if slices.Contains(req.Prompt, "select_account") {
		return p.sendUnbound(w, r, req, p.browser.SelectAccountURL)
	}
	// A session below the class the request needs is asked for the
	// missing factors only (issue 17); prompt=none cannot ask.
	need, err := p.neededACR(ctx, req, sess.UserID)
	if err != nil {
		return unavailable(err)
	}
	if !acr.Meets(sess.AMR, need) {
		if promptNone { // OIDC Core §3.1.2.6
			return toClient(oidc.ErrInteractionRequired().WithDescription("a stronger authentication is needed"))
		}
		return p.stepUp(w, r, req, sess)
	}
	req.UserID, req.SessionID, req.AuthTime, req.AMR = sess.UserID, sess.ID, sess.AuthTime, sess.AMR
	if err := p.checkGroupRule(ctx, w, c, req); err != nil { // issue 15: the client's group rule
		return err
	}
	needConsent, err := p.needsConsent(ctx, c, req)
	if err != nil {
		return unavailable(err)
	}
	if needConsent {
		if promptNone {
			return toClient(&oidc.Error{ErrorType: "consent_required"})
		}
		return p.saveAndGo(w, r, req, p.browser.ConsentURL(req.ID))
	}
	// Fast path: the session is good and nothing needs asking, and the
	// browser goes straight back to the client without a hop through a
	// page. With a code sealer the code carries the request, sealed, and
	// nothing is written: the exchange checks the session and records it
	// as serving the client (RedeemSealedCode). Otherwise, or when the
	// code would be too long, the request is stored with its code, and the
	// session recorded as serving the client (for logout), in one round
	// trip.
	req.CodeExpiresAt = now.Add(p.cfg.CodeTTL)
	if p.cfg.Codes != nil {
		if code, err := p.cfg.Codes.Seal(req); err == nil {
			return p.redirectCode(w, r, req, code)
		}
	}
	code := storage.NewToken()
	req.CodeHash = storage.HashToken(code)
	err = p.store.CreateSessionAuthRequest(ctx, req)
	if errors.Is(err, storage.ErrNotFound) { // the session was deleted meanwhile: as without one
		if promptNone {
			return toClient(oidc.ErrLoginRequired())
		}
		req.UserID, req.SessionID, req.AuthTime, req.AMR = "", "", time.Time{}, nil
		req.CodeHash, req.CodeExpiresAt = "", time.Time{}
		return p.signIn(w, r, req)
	}
	if err != nil {
		return unavailable(err)
	}
	return p.redirectCode(w, r, req, code)
}

// authorizeClient checks client_id and redirect_uri. Problems with either
// are shown on the provider's own error page and never redirected
// (RFC 6749 §4.1.2.1, RFC 9700 §4.1): the redirect target is not trusted.
func (p *Provider) authorizeClient(r *http.Request, v url.Values) (*storage.Client, string, error) {
	clientID, ok1 := single(v, "client_id")
	redirectURI, ok2 := single(v, "redirect_uri")
	if !ok1 || !ok2 || clientID == "" {
		return nil, "", badRequest(invalidSignInT, badClientParamsD)
	}
	c, err := p.activeClient(r.Context(), clientID)
	if err != nil {
		return nil, "", err
	}
	// OIDC Core §3.1.2.1: redirect_uri is REQUIRED; we never pick a default.
	if redirectURI == "" || !redirectURIAllowed(c, redirectURI) {
		return nil, "", badRequest(redirectNotRegT, redirectNotRegD)
	}
	return c, redirectURI, nil
}

// activeClient returns the client clientID, or the error page for an
// unknown or disabled one: both look the same (no client enumeration).
func (p *Provider) activeClient(ctx context.Context, clientID string) (*storage.Client, error) {
	c, err := p.store.GetClient(ctx, clientID)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return nil, unavailable(err)
	}
	if err != nil || c.Disabled {
		return nil, badRequest(unknownAppT, unknownAppD)
	}
	return c, nil
}

// reusableSession returns the browser's SSO session when it may answer req
// without asking the person to sign in again, or nil. A new sign-in is
// needed for prompt=login, an exceeded max_age, an id_token_hint for
// another subject, or a disabled user (OIDC Core §3.1.2.1; Sessions.Current
// has no session for a disabled user).
func (p *Provider) reusableSession(r *http.Request, req *storage.AuthRequest) (*storage.Session, error) {
	sess, err := p.sessions.Current(r)
	if err != nil || sess == nil {
		return nil, err
	}
	switch {
	case slices.Contains(req.Prompt, "login"):
		return nil, nil
	case req.MaxAge != nil && (*req.MaxAge == 0 || p.now().Sub(sess.AuthTime) > *req.MaxAge):
		return nil, nil // max_age=0 is prompt=login (OIDC Core §3.1.2.1)
	case req.HintSubject != "" && req.HintSubject != sess.UserID:
		return nil, nil
	}
	return sess, nil
}

// needsConsent reports whether the user must be asked before the client
// gets the requested scopes: unless this request already got it, always
// for prompt=consent, which asks even clients registered without consent
// (OIDC Core §3.1.2.1: the provider SHOULD prompt the End-User for
// consent), and otherwise only for clients registered as requiring it.
func (p *Provider) needsConsent(ctx context.Context, c *storage.Client, req *storage.AuthRequest) (bool, error) {
	if req.ConsentGranted {
		return false, nil
	}
	if slices.Contains(req.Prompt, "consent") {
		return true, nil
	}
	if !c.RequireConsent {
		return false, nil
	}
	consent, err := p.store.GetConsent(ctx, req.UserID, c.ID)
	if errors.Is(err, storage.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return !consent.Covers(req.Scopes), nil
}

// signIn sends the browser to the sign-in flow for req, which nobody is
// signed in to yet. With a sealer the request is not stored: its sealed
// value is the id the sign-in pages get, and they store it once someone
// signs in, so an unauthenticated client cannot make /authorize write
// anything (issue #13 item 7b). Without one it is stored, as before.
func (p *Provider) signIn(w http.ResponseWriter, r *http.Request, req *storage.AuthRequest) error {
	return p.sendUnbound(w, r, req, p.browser.SignInURL)
}

// sendUnbound sends the browser to page (the sign-in page, or the account
// page) for req, which is bound to no session yet: sealed when there is a
// sealer (see signIn), stored otherwise.
func (p *Provider) sendUnbound(w http.ResponseWriter, r *http.Request, req *storage.AuthRequest, page func(authRequestID string) string) error {
	if p.cfg.Pending == nil {
		return p.saveAndGo(w, r, req, page(req.ID))
	}
	sealed, err := p.cfg.Pending.Seal(req)
	if err != nil { // only past pending.MaxPlaintext, which the caps in authparams.go rule out
		return &pageError{status: http.StatusBadRequest, title: invalidSignInT, detail: tooLargeSignInD, err: err}
	}
	redirect(w, r, page(sealed))
	return nil
}

// saveAndGo stores the pending request and sends the browser to a page.
func (p *Provider) saveAndGo(w http.ResponseWriter, r *http.Request, req *storage.AuthRequest, page string) error {
	if err := p.store.CreateAuthRequest(r.Context(), req); err != nil {
		return unavailable(err)
	}
	redirect(w, r, page)
	return nil
}

// sendCode records that the session served the client (for logout) and
// sends the code to the client.
func (p *Provider) sendCode(w http.ResponseWriter, r *http.Request, req *storage.AuthRequest, code string) error {
	if err := p.store.AddSessionClient(r.Context(), req.SessionID, req.ClientID); err != nil {
		return unavailable(err)
	}
	return p.redirectCode(w, r, req, code)
}

// redirectCode sends the code, and the state, to the client.
func (p *Provider) redirectCode(w http.ResponseWriter, r *http.Request, req *storage.AuthRequest, code string) error {
	q := url.Values{"code": {code}}
	if req.State != "" {
		q.Set("state", req.State)
	}
	return p.redirectToClient(w, r, req.RedirectURI, q)
}

// redirectError sends an error response to the client (RFC 6749 §4.1.2.1);
// serveBrowser calls it for a *clientError.
func (p *Provider) redirectError(w http.ResponseWriter, r *http.Request, redirectURI, state string, echoState bool, e *oidc.Error) {
	q := url.Values{"error": {string(e.ErrorType)}}
	if e.Description != "" {
		q.Set("error_description", e.Description)
	}
	if echoState && state != "" {
		q.Set("state", state)
	}
	if err := p.redirectToClient(w, r, redirectURI, q); err != nil {
		p.browser.Fail(w, r, err)
	}
}

// redirectToClient adds q and the RFC 9207 `iss` to the registered redirect
// URI (keeping its own query) and redirects the browser there.
func (p *Provider) redirectToClient(w http.ResponseWriter, r *http.Request, redirectURI string, q url.Values) error {
	u, err := url.Parse(redirectURI)
	if err != nil { // registered URIs are validated at registration
		return &pageError{status: http.StatusInternalServerError, title: misconfiguredT, detail: misconfiguredD, err: err}
	}
	merged := u.Query()
	for k, vals := range q {
		merged[k] = vals
	}
	merged.Set("iss", p.issuer) // RFC 9207 §2
	u.RawQuery = merged.Encode()
	redirect(w, r, u.String())
	return nil
}

// redirect answers 302 to a GET and 303 to a POST (RFC 9700 §4.12 forbids
// 307 after a form POST). The Location may carry a code: never cache it.
func redirect(w http.ResponseWriter, r *http.Request, location string) {
	status := http.StatusFound
	if r.Method == http.MethodPost {
		status = http.StatusSeeOther
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", location)
	w.WriteHeader(status)
}
