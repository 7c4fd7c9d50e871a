package op

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// userinfo is the UserInfo endpoint (OIDC Core §5.3). The access token comes
// in the Authorization header or, for POST, the form body (RFC 6750 §2.1,
// §2.2); never in the URL, where it would be logged (RFC 6750 §2.3 is not
// supported). It must be active (activeAccessToken): a revoked, logged-out
// or disabled user's token is 401 invalid_token (RFC 6750 §3.1). A
// DPoP-bound token must come with the DPoP scheme and a proof by its key
// (RFC 9449 §7, dpopResource). Claims are released by the token's scopes
// (OIDC Core §5.4).
func (p *Provider) userinfo(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		bearerError(w, http.StatusMethodNotAllowed, "invalid_request", "use GET or POST")
		return
	}
	if r.URL.Query().Has("access_token") {
		bearerError(w, http.StatusBadRequest, "invalid_request", "the access token must not be sent in the URL")
		return
	}
	token, scheme, ok := p.accessTokenOf(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	at, u, err := p.activeAccessToken(ctx, token)
	if errors.Is(err, errTokenInactive) {
		schemeError(w, scheme, http.StatusUnauthorized, "invalid_token", "the access token is invalid, expired or revoked")
		return
	}
	if err == nil && !p.dpopResource(w, r, scheme, token, at) {
		return
	}
	if err != nil {
		p.log.ErrorContext(ctx, "userinfo failed", "error", err)
		w.Header().Set("Retry-After", "5")
		bearerError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "the service is temporarily unavailable")
		return
	}
	if u == nil { // a client_credentials token: no user to describe (RFC 6749 §4.4)
		bearerError(w, http.StatusUnauthorized, "invalid_token", "the access token was issued to a client, not for a user")
		return
	}
	if !hasScope(at.Scope, scopeOpenID) {
		bearerError(w, http.StatusForbidden, "insufficient_scope", "the access token lacks the openid scope")
		return
	}
	scopes := strings.Fields(at.Scope)
	var body any = userinfoResponse{Subject: u.ID, userClaims: claimsFor(u, scopes)}
	if c, err := p.store.GetClient(ctx, at.ClientID); err == nil {
		// The claims asked for one by one (OIDC Core §5.5, claimsparam.go)
		// and the client's claim mapping (storage.ClaimMapping); a client
		// gone since gets neither.
		body = userinfoResponse{Subject: u.ID, userClaims: claimsWith(u, scopes, allowedIndividually(c, at.UserinfoClaims))}
		if body, err = withClaims(body, mappedClaims(c, u, scopes)); err != nil {
			p.log.ErrorContext(ctx, "userinfo failed", "error", err)
			bearerError(w, http.StatusInternalServerError, "server_error", "the claims could not be encoded")
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
}

// accessTokenOf extracts the access token and the scheme it came with:
// Bearer (the header or, RFC 6750 §2.2, the form body) or, with DPoP
// enabled, DPoP (RFC 9449 §7.1). It answers the error itself when there is
// no token or it was sent in two ways.
func (p *Provider) accessTokenOf(w http.ResponseWriter, r *http.Request) (token, scheme string, ok bool) {
	if p.cfg.DPoP {
		if s, tok, _ := strings.Cut(r.Header.Get("Authorization"), " "); strings.EqualFold(s, tokenTypeDPoP) {
			if r.Method == http.MethodPost {
				r.Body = http.MaxBytesReader(w, r.Body, maxFormBodyBytes)
				if err := r.ParseForm(); err != nil || r.PostForm.Has("access_token") {
					bearerError(w, http.StatusBadRequest, "invalid_request", "the access token was sent in more than one way")
					return "", "", false
				}
			}
			if tok = strings.TrimSpace(tok); tok != "" {
				return tok, tokenTypeDPoP, true
			}
		}
		// RFC 9449 §7.1: the DPoP challenge beside the Bearer one.
		w.Header().Add("WWW-Authenticate", dpopChallenge("", ""))
	}
	token, ok = bearerToken(w, r)
	if ok {
		w.Header().Del("WWW-Authenticate")
	}
	return token, "Bearer", ok
}

// bearerToken extracts the access token, answering the error itself when
// there is none or it was sent in two ways.
func bearerToken(w http.ResponseWriter, r *http.Request) (string, bool) {
	var fromBody string
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBodyBytes)
		if err := r.ParseForm(); err != nil {
			bearerError(w, http.StatusBadRequest, "invalid_request", "the body could not be read")
			return "", false
		}
		if len(r.PostForm["access_token"]) > 1 {
			bearerError(w, http.StatusBadRequest, "invalid_request", "access_token is included more than once")
			return "", false
		}
		fromBody = r.PostForm.Get("access_token")
	}
	auth := r.Header.Get("Authorization")
	scheme, fromHeader, _ := strings.Cut(auth, " ")
	switch {
	case auth != "" && fromBody != "":
		bearerError(w, http.StatusBadRequest, "invalid_request", "the access token was sent in more than one way")
		return "", false
	case auth != "" && strings.EqualFold(scheme, "Bearer") && fromHeader != "":
		return strings.TrimSpace(fromHeader), true
	case fromBody != "":
		return fromBody, true
	}
	// RFC 6750 §3.1: no error code when no token was sent at all.
	w.Header().Add("WWW-Authenticate", `Bearer realm="userinfo"`)
	w.WriteHeader(http.StatusUnauthorized)
	return "", false
}

// bearerError answers with an RFC 6750 §3 error: the code in
// WWW-Authenticate and a JSON body.
func bearerError(w http.ResponseWriter, status int, code, desc string) {
	if status == http.StatusUnauthorized || status == http.StatusForbidden || status == http.StatusBadRequest {
		w.Header().Add("WWW-Authenticate", `Bearer realm="userinfo", error="`+code+`", error_description="`+desc+`"`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}
