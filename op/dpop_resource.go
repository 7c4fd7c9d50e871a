package op

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
)

// DPoP at the provider's protected resources (RFC 9449 §7): UserInfo, and
// through CheckResourceProof the admin API.

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
	derr, err := p.boundProof(r, token, at, now)
	if err != nil {
		p.log.ErrorContext(r.Context(), "userinfo failed", "error", err)
		w.Header().Set("Retry-After", "5")
		bearerError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "the service is temporarily unavailable")
		return false
	}
	if derr != nil {
		schemeError(w, tokenTypeDPoP, http.StatusUnauthorized, derr.code, derr.desc)
		return false
	}
	return true
}

// boundProof checks the one DPoP proof of r, a request to a protected
// resource of this issuer presenting token, bound to at.Cnf.JKT: the
// proof for this method and URL (htu = issuer + path, RFC 9449 §4.3), its
// ath the token's hash, signed by the token's key, and its jti not seen
// before (then recorded). A refusal is a *dpopError (logged); err is a
// store failure.
func (p *Provider) boundProof(r *http.Request, token string, at *accessTokenClaims, now time.Time) (*dpopError, error) {
	proofs := r.Header.Values(headerDPoP)
	if len(proofs) != 1 {
		return badProof("exactly one DPoP proof is required"), nil
	}
	proof, derr := p.checkDPoPProof(proofs[0], r.Method, p.issuer+r.URL.Path, token, now)
	if derr == nil && proof.jkt != at.Cnf.JKT {
		derr = badProof("the DPoP proof is signed by another key than the access token is bound to")
	}
	if derr == nil {
		err := p.useDPoPProof(r.Context(), at.ClientID, proof)
		if err != nil && !errors.As(err, &derr) {
			return nil, err
		}
	}
	if derr != nil {
		p.log.InfoContext(r.Context(), "DPoP proof refused", "event", "dpop_proof_refused", "error", derr.code, "reason", derr.desc)
	}
	return derr, nil
}

// DPoPProofError is CheckResourceProof's refusal of a proof (RFC 9449
// §7.1): Code is invalid_dpop_proof, use_dpop_nonce, or invalid_token
// for a token that is not DPoP-bound; Description is for the client;
// Nonce, when nonces are on, is the current server nonce, for the
// DPoP-Nonce header of the answer (§9).
type DPoPProofError struct {
	Code, Description, Nonce string
}

func (e *DPoPProofError) Error() string { return "op: DPoP proof refused: " + e.Code }

// CheckResourceProof checks the DPoP proof of a request to one of this
// issuer's protected resources other than UserInfo (the admin API) that
// presents accessToken with the DPoP scheme (RFC 9449 §7.1): the token
// must be one of ours (signature, iss, exp) and DPoP-bound, and the
// request must carry exactly one proof for its method and URL (htu = the
// issuer and the request's path), with ath the token's hash, a current
// server nonce when nonces are on, signed by the key the token is bound
// to, its jti unused (then recorded). It returns the key's thumbprint. A
// refusal is a *DPoPProofError; any other error is a store failure.
// Liveness of the token is the caller's check (VerifyServiceToken).
func (p *Provider) CheckResourceProof(r *http.Request, accessToken string) (string, error) {
	now := p.now()
	var nonce string
	if p.cfg.DPoPNonce {
		nonce = p.dpopNonces.current(now)
	}
	at, err := p.parseAccessToken(accessToken, now)
	switch {
	case !p.cfg.DPoP:
		return "", &DPoPProofError{Code: "invalid_token", Description: "DPoP is not enabled"}
	case err != nil:
		return "", &DPoPProofError{Code: "invalid_token", Description: "the access token is invalid or expired", Nonce: nonce}
	case at.Cnf == nil || at.Cnf.JKT == "":
		return "", &DPoPProofError{Code: "invalid_token", Description: "the access token is not DPoP-bound", Nonce: nonce}
	}
	derr, err := p.boundProof(r, accessToken, at, now)
	if err != nil {
		return "", err
	}
	if derr != nil {
		return "", &DPoPProofError{Code: derr.code, Description: derr.desc, Nonce: nonce}
	}
	return at.Cnf.JKT, nil
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
