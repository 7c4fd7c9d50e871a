package op

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// DPoP at the provider's protected resource, UserInfo (RFC 9449 §7).

// dpopResource checks an active access token's binding: a DPoP-bound
// token (cnf.jkt) must come with the DPoP scheme and exactly one valid
// proof for this request (RFC 9449 §4.3: htm, htu, iat, ath = the token's
// hash, a server nonce when required) by the key it is bound to, whose
// jti is then recorded; presented as a Bearer token it is refused (§7.2);
// an unbound token presented with the DPoP scheme is refused too. It
// answers the refusal itself (401 with a DPoP challenge, §7.1) and
// reports whether the request may go on.
func (p *Provider) dpopResource(w http.ResponseWriter, r *http.Request, scheme, token string, at *accessTokenClaims) bool {
	bound := at.Cnf != nil && at.Cnf.JKT != ""
	switch {
	case scheme != tokenTypeDPoP && !bound:
		return true
	case scheme != tokenTypeDPoP:
		schemeError(w, tokenTypeDPoP, http.StatusUnauthorized, "invalid_token", "the access token is DPoP-bound: send it with the DPoP scheme and a proof")
		return false
	case !bound:
		schemeError(w, tokenTypeDPoP, http.StatusUnauthorized, "invalid_token", "the access token is not DPoP-bound")
		return false
	}
	now := p.now()
	if p.cfg.DPoPNonce {
		w.Header().Set(headerDPoPNonce, p.dpopNonces.current(now))
	}
	proofs := r.Header.Values(headerDPoP)
	if len(proofs) != 1 {
		schemeError(w, tokenTypeDPoP, http.StatusUnauthorized, errCodeInvalidDPoPProof, "exactly one DPoP proof is required")
		return false
	}
	proof, derr := p.checkDPoPProof(proofs[0], r.Method, p.issuer+r.URL.Path, token, now)
	if derr == nil && proof.jkt != at.Cnf.JKT {
		derr = badProof("the DPoP proof is signed by another key than the access token is bound to")
	}
	if derr == nil {
		err := p.useDPoPProof(r.Context(), at.ClientID, proof)
		if err != nil && !errors.As(err, &derr) {
			p.log.ErrorContext(r.Context(), "userinfo failed", "error", err)
			w.Header().Set("Retry-After", "5")
			bearerError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "the service is temporarily unavailable")
			return false
		}
	}
	if derr != nil {
		p.log.InfoContext(r.Context(), "DPoP proof refused", "event", "dpop_proof_refused", "error", derr.code, "reason", derr.desc)
		schemeError(w, tokenTypeDPoP, http.StatusUnauthorized, derr.code, derr.desc)
		return false
	}
	return true
}

// dpopChallenge is the DPoP WWW-Authenticate challenge (RFC 9449 §7.1)
// with the algorithms proofs may use and, when code is set, the error.
func dpopChallenge(code, desc string) string {
	algs := make([]string, len(dpopAlgs))
	for i, a := range dpopAlgs {
		algs[i] = string(a)
	}
	c := `DPoP algs="` + strings.Join(algs, " ") + `"`
	if code != "" {
		c = `DPoP error="` + code + `", error_description="` + desc + `", algs="` + strings.Join(algs, " ") + `"`
	}
	return c
}

// schemeError answers a refused request to the resource with the
// challenge of the scheme the token came with: Bearer (RFC 6750 §3,
// bearerError) or DPoP (RFC 9449 §7.1).
func schemeError(w http.ResponseWriter, scheme string, status int, code, desc string) {
	if scheme != tokenTypeDPoP {
		bearerError(w, status, code, desc)
		return
	}
	w.Header().Set("WWW-Authenticate", dpopChallenge(code, desc))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}
