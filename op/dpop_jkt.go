package op

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	zop "github.com/zitadel/oidc/v3/pkg/op"
)

// DPoP authorization code binding (RFC 9449 §10): the client names, in
// the authorization request, the key it will prove possession of at the
// token endpoint (dpop_jkt, its JWK SHA-256 thumbprint), and the code is
// then redeemed only with a DPoP proof by that key. A code stolen from the
// redirect (or by a malicious app on the device) is useless without the
// private key. With PAR a DPoP proof at /par stands for dpop_jkt
// (§10.1). The thumbprint travels with the request (storage.AuthRequest
// DPoPJKT; sealed while nobody has signed in, storage/pending).

// paramDPoPJKT is the authorization request parameter (RFC 9449 §10).
const paramDPoPJKT = "dpop_jkt"

// validJKT reports whether s is a JWK SHA-256 thumbprint as RFC 9449
// §6.1 and RFC 7638 §3 make it: the unpadded base64url (RFC 4648 §5)
// encoding of 32 bytes, in its one canonical form.
func validJKT(s string) bool {
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return err == nil && len(b) == sha256.Size
}

// dpopJKTParam returns the request's dpop_jkt, or "" when there is none or
// DPoP is off (a server without DPoP ignores the parameter, as RFC 6749
// §3.1 has unknown parameters ignored, and issues bearer tokens). A value
// that is not a SHA-256 thumbprint is invalid_request (RFC 9449 §10),
// answered at the validated redirect URI by /authorize (RFC 6749
// §4.1.2.1) and in the JSON error of /par.
func (p *Provider) dpopJKTParam(v url.Values) (string, *oidc.Error) {
	jkt := v.Get(paramDPoPJKT)
	switch {
	case !p.cfg.DPoP || jkt == "":
		return "", nil
	case !validJKT(jkt):
		return "", oidc.ErrInvalidRequest().WithDescription("dpop_jkt is not a base64url SHA-256 JWK thumbprint")
	}
	return jkt, nil
}

// parDPoP checks the DPoP header of a pushed authorization request (RFC
// 9449 §10.1): none, or one valid proof for /par (htm POST, htu the PAR
// endpoint, the server nonce when nonces are on, a jti not seen before).
// The proof's key then binds the code as dpop_jkt does: its thumbprint is
// set as v's dpop_jkt, and a dpop_jkt that names another key is refused.
// A refusal is written (400 invalid_dpop_proof or use_dpop_nonce, or
// invalid_request) and ok is false. Without DPoP the header is ignored.
func (p *Provider) parDPoP(ctx context.Context, w http.ResponseWriter, r *http.Request, clientID string, v url.Values) bool {
	if !p.cfg.DPoP {
		return true
	}
	proof, derr := p.endpointProof(w, r, PathPAR)
	if derr == nil && proof != nil {
		err := p.useDPoPProof(ctx, clientID, proof)
		switch {
		case errors.As(err, &derr):
		case err != nil:
			zop.WriteError(w, r, p.serverError(ctx, err), p.log)
			return false
		}
	}
	switch {
	case derr != nil:
		p.refuseProof(ctx, w, derr)
		return false
	case proof == nil:
		return true
	}
	if jkt := v.Get(paramDPoPJKT); jkt != "" && jkt != proof.jkt {
		// §10.1: both given, they must name one key.
		writeOAuthError(w, http.StatusBadRequest, oidc.ErrInvalidRequest().WithDescription("dpop_jkt does not match the key of the DPoP proof"))
		return false
	}
	v.Set(paramDPoPJKT, proof.jkt)
	return true
}

// checkCodeJKT enforces a code's dpop_jkt at its exchange (RFC 9449 §10):
// the token request's DPoP proof (its thumbprint jkt, "" without one) must
// be by the key the authorization request named. Anything else is
// invalid_grant, as for any other binding of the code that does not hold
// (RFC 6749 §5.2). A code without dpop_jkt is not checked.
func checkCodeJKT(want, jkt string) error {
	switch {
	case want == "":
		return nil
	case jkt == "":
		return oidc.ErrInvalidGrant().WithDescription("the code is bound to a DPoP key (dpop_jkt): send a DPoP proof by that key")
	case subtle.ConstantTimeCompare([]byte(want), []byte(jkt)) != 1:
		return oidc.ErrInvalidGrant().WithDescription("the DPoP proof's key is not the one the authorization request named (dpop_jkt)")
	}
	return nil
}
