package op

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	zop "github.com/zitadel/oidc/v3/pkg/op"

	"github.com/monban-idp/monban/storage"
)

// Pushed authorization requests (RFC 9126).
const (
	// PathPAR is the pushed authorization request endpoint (RFC 9126 §2).
	PathPAR = "/par"
	// PARTTL is how long a request_uri stays valid (RFC 9126 §2.2: "a
	// short-lived" value; §4 suggests 5 to 600 seconds).
	PARTTL = 60 * time.Second
	// requestURIPrefix starts every request_uri the endpoint issues (RFC
	// 9126 §2.2 example; the URN namespace of RFC 9126 §7.1).
	requestURIPrefix = "urn:ietf:params:oauth:request_uri:"
)

// parEndpoint is /par's form hygiene (formGuard): RFC 9126 §2.1 forbids
// request_uri in a pushed request.
var parEndpoint = formEndpoint{name: "the pushed authorization request endpoint", check: func(form url.Values) *oidc.Error {
	if form.Has("request_uri") {
		return oidc.ErrInvalidRequest().WithDescription("request_uri must not be pushed")
	}
	return nil
}}

// clientAuthParams are the client authentication parameters of a pushed
// request (RFC 6749 §2.3.1, RFC 7523 §2.2), which are not part of the
// authorization request that is stored.
var clientAuthParams = []string{"client_secret", "client_assertion", "client_assertion_type"}

// servePAR is the pushed authorization request endpoint (RFC 9126 §2).
// The client authenticates as at the token endpoint (VerifyClient; a
// public client by its client_id, §2); the body is an authorization
// request checked with /authorize's rules, and every problem is answered
// as a JSON OAuth error (§2.3), never a redirect. The request is stored
// single-use for PARTTL and answered 201 with its request_uri (§2.2).
// formGuard has already enforced POST, a bounded form body, no repeated
// parameters and no request_uri.
func (p *Provider) servePAR(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	zc, err := (&tokenServer{p: p}).VerifyClient(ctx, clientCredentials(r))
	if err != nil {
		zop.WriteError(w, r, err, p.log)
		return
	}
	c := zc.(client).c
	v := url.Values{}
	for k, vals := range r.PostForm {
		v[k] = vals
	}
	for _, k := range clientAuthParams {
		delete(v, k)
	}
	// RFC 9126 §2.1: client_id is part of the request; a different one
	// than the authenticated client's is refused.
	if id := v.Get("client_id"); id != "" && id != c.ID {
		writeOAuthError(w, http.StatusBadRequest, oidc.ErrInvalidRequest().WithDescription("client_id does not match the authenticated client"))
		return
	}
	v.Set("client_id", c.ID)
	// RFC 9126 §3: a pushed request may be a request object (RFC 9101);
	// its verified parameters are what is stored.
	if raw := v.Get("request"); raw != "" {
		params, _, oerr := p.requestObjectParams(ctx, c, raw, v)
		if oerr != nil {
			writeOAuthError(w, http.StatusBadRequest, oerr)
			return
		}
		v = params
	}
	if oerr := p.checkPushed(v, c); oerr != nil {
		writeOAuthError(w, http.StatusBadRequest, oerr)
		return
	}
	// RFC 9449 §10.1: a DPoP proof at /par binds the code as dpop_jkt does.
	if !p.parDPoP(ctx, w, r, c.ID, v) {
		return
	}
	now := p.now()
	secret := storage.NewToken()
	err = p.store.CreatePushedRequest(ctx, &storage.PushedRequest{
		ID: storage.HashToken(secret), ClientID: c.ID, Params: v, CreatedAt: now, ExpiresAt: now.Add(PARTTL),
	}, now)
	if err != nil {
		zop.WriteError(w, r, p.serverError(ctx, err), p.log)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(struct {
		RequestURI string `json:"request_uri"`
		ExpiresIn  int    `json:"expires_in"`
	}{requestURIPrefix + secret, int(PARTTL / time.Second)})
}

// checkPushed validates a pushed request with /authorize's rules: a
// registered redirect_uri (OIDC Core §3.1.2.1; RFC 9126 §2.4 allows
// unregistered ones, which we do not) and parseAuthParams. The
// id_token_hint is checked when the request is used at /authorize.
func (p *Provider) checkPushed(v url.Values, c *storage.Client) *oidc.Error {
	redirectURI, ok := single(v, "redirect_uri")
	if !ok || redirectURI == "" || !redirectURIAllowed(c, redirectURI) {
		return oidc.ErrInvalidRequest().WithDescription("redirect_uri is missing or not registered for the client")
	}
	if _, oerr := parseAuthParams(v, c); oerr != nil {
		return oerr
	}
	_, oerr := p.dpopJKTParam(v)
	return oerr
}

// clientCredentials reads the client authentication of a form request as
// zitadel's token endpoint does: client_id, client_secret or a client
// assertion from the body, and the Basic Authorization header (RFC 6749
// §2.3.1: its values are form-encoded) over them. formGuard has refused
// a request with both a header and body credentials.
func clientCredentials(r *http.Request) *zop.Request[zop.ClientCredentials] {
	f := r.PostForm
	cc := &zop.ClientCredentials{
		ClientID: f.Get("client_id"), ClientSecret: f.Get("client_secret"),
		ClientAssertion: f.Get("client_assertion"), ClientAssertionType: f.Get("client_assertion_type"),
	}
	if id, secret, ok := r.BasicAuth(); ok {
		uid, err1 := url.QueryUnescape(id)
		usecret, err2 := url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			uid, usecret = "", "" // an unreadable header authenticates nobody
		}
		cc.ClientID, cc.ClientSecret = uid, usecret
	}
	return &zop.Request[zop.ClientCredentials]{
		Method: r.Method, URL: r.URL, Header: r.Header, Form: r.Form, PostForm: r.PostForm, Data: cc,
	}
}

// pushedParams returns the parameters of the pushed request named by
// v's request_uri, consuming it (RFC 9126 §4: the pushed parameters are
// the whole request; other query parameters except client_id are
// ignored). A request_uri not issued by /par is no concern of this
// function: ok is false and /authorize refuses it as before. A used,
// expired or unknown request_uri, or one pushed by another client than
// client_id, is shown on the error page: nothing in this request can be
// trusted as a redirect target (RFC 9126 §4, RFC 6749 §4.1.2.1).
func (p *Provider) pushedParams(ctx context.Context, v url.Values) (url.Values, bool, error) {
	uri, ok1 := single(v, "request_uri")
	if !p.cfg.PAR || !ok1 || !strings.HasPrefix(uri, requestURIPrefix) {
		return nil, false, nil
	}
	clientID, ok2 := single(v, "client_id")
	if !ok2 || clientID == "" {
		return nil, true, badRequest(invalidSignInT, badClientParamsD)
	}
	secret := strings.TrimPrefix(uri, requestURIPrefix)
	if len(secret) > maxParamLength {
		return nil, true, badRequest(expiredRequestT, expiredRequestD)
	}
	req, err := p.store.ConsumePushedRequest(ctx, storage.HashToken(secret), clientID, p.now())
	if errors.Is(err, storage.ErrNotFound) {
		return nil, true, badRequest(expiredRequestT, expiredRequestD)
	}
	if err != nil {
		return nil, true, unavailable(err)
	}
	out := url.Values{}
	for k, vals := range req.Params {
		out[k] = vals
	}
	out.Set("client_id", req.ClientID)
	return out, true, nil
}
